package ui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/gate"
)

// A session is a login session of the token server's table, told from
// docker's by its service and client: the token server refuses it as a
// refresh token (the service differs), and `wharf session ls` shows it.
const (
	sessionService = "wharf-ui"
	sessionClient  = "wharf-ui"
	// sessionCookie holds the session's token; loginCookie, before
	// sign-in, the secret the sign-in form's CSRF token is bound to.
	sessionCookie = "wharf_ui_session"
	loginCookie   = "wharf_ui_login"
	// maxCookie bounds what is read of a cookie: tokens are 43 bytes.
	maxCookie = 128
	// maxCredential bounds a user name or password from the form.
	maxCredential = 1024
)

type sessionKey struct{}

// session is who a page is for, as the backends and the database see the
// account now.
type session struct {
	ID       string
	Identity auth.Identity
	// CSRF is the token every form of the session carries.
	CSRF string
	// Admin is set when the ACL grants the account the admin API's scope
	// (admin:api:*): the administration pages are its.
	Admin bool
	// Done is what the change just made did (doneMessages), shown once
	// at the top of the page it led to, with the keyboard's focus.
	Done string
}

// Account is the signed-in account's name, for the pages.
func (s *session) Account() string { return s.Identity.Account }

// newSecret returns 32 random bytes, base64url.
func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// csrfToken is the CSRF token of the forms bound to secret (a session's
// token, or the sign-in cookie): a keyed digest, so that the page never
// shows the secret and a token of one session is worthless in another.
func csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("wharf ui csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameCSRF compares a form's CSRF token with the expected one in
// constant time; "" never matches.
func sameCSRF(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setCookie sets a cookie of the interface: HttpOnly, SameSite=Lax, and
// Secure when the browser reached Wharf over TLS (itself or its proxy's).
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: edge.PublicOf(r).Scheme == "https", SameSite: http.SameSiteLaxMode})
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil || len(c.Value) > maxCookie {
		return ""
	}
	return c.Value
}

type loginData struct {
	CSRF, User, Message, Next string
	Session                   *session
	SignIns                   []signInLink
}

// signInLink is a provider's button on the sign-in page.
type signInLink struct{ Title, URL string }

// loginPage shows the sign-in form, with a fresh secret for its CSRF token
// in a cookie of its own (a sign-in form posted from another site carries
// neither).
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	u.showLogin(w, r, http.StatusOK, "", "", safeNext(r.URL.Query().Get("next")))
}

func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, user, message, next string) {
	secret, err := newSecret()
	if err != nil {
		u.fail(w, r, errcode.PageFailed, "The sign-in page could not be made.", err)
		return
	}
	setCookie(w, r, loginCookie, secret, 3600)
	links := make([]signInLink, 0, len(u.cfg.SignIns))
	for _, p := range u.cfg.SignIns {
		links = append(links, signInLink{Title: p.Title, URL: p.Start + "?" + url.Values{"ui": {"1"}, "next": {next}}.Encode()})
	}
	u.render(w, r, status, "login.html", loginData{CSRF: csrfToken(secret), User: user, Message: message, Next: next, SignIns: links})
}

// login checks the form's credentials with the token server's chain and
// limiter, and opens a new session: a session token the browser brought
// along is never reused (no fixation) and is ended.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 4*maxCredential)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, errcode.PageInvalid, "The sign-in form is malformed.", err)
		return
	}
	secret := cookieValue(r, loginCookie)
	if secret == "" || !sameCSRF(r.PostForm.Get("csrf"), csrfToken(secret)) {
		u.fail(w, r, errcode.PageDenied, "This form expired or did not come from this site; open the sign-in page again.",
			errors.New("sign-in without a matching CSRF token"))
		return
	}
	user, pass, next := r.PostForm.Get("username"), r.PostForm.Get("password"), safeNext(r.PostForm.Get("next"))
	if len(user) > maxCredential || len(pass) > maxCredential {
		u.showLogin(w, r, errcode.PageInvalid.Status(), "", "The user name or password is too long.", next)
		return
	}
	ip := u.cfg.ClientIP(r)
	res, labels, err := u.cfg.Limiter.Login(ctx, u.cfg.Authn, user, auth.Secret(pass), ip)
	var limited *authn.LimitedError
	var busy *gate.BusyError
	switch {
	case errors.As(err, &limited):
		u.log.WarnContext(ctx, "web interface: sign-in rate-limited", "account", user, "ip", ip)
		w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
		u.fail(w, r, errcode.PageTooMany, "Too many failed sign-ins; try again later.", nil)
		return
	case errors.As(err, &busy):
		w.Header().Set("Retry-After", strconv.Itoa(busy.RetryAfterSeconds()))
		u.fail(w, r, errcode.PageUnavailable, "The server is busy; try again in a moment.", nil)
		return
	case err != nil:
		u.fail(w, r, errcode.PageUnavailable, "The accounts cannot be checked now; try again later.", err)
		return
	case res != authn.Accepted:
		u.log.InfoContext(ctx, "web interface: sign-in failed", "account", user, "ip", ip, "result", res.String())
		u.showLogin(w, r, errcode.PageDenied.Status(), user, "Incorrect user name or password.", next)
		return
	}
	labels = authn.CloneLabels(labels)
	stamp := authn.TakeStamp(labels)
	source := labels.Source()
	ttl := u.cfg.SessionTTL
	if u.cfg.Sessions == nil || !u.cfg.Sessions.CanConfirm(source, stamp) {
		ttl = u.cfg.UnconfirmedTTL
	}
	u.open(w, r, auth.Session{Account: user, Source: source, Stamp: stamp, Labels: labels, ExpiresAt: u.cfg.Now().Add(ttl)}, next)
}

// ProviderSignIn is a sign-in at a browser sign-in's provider, started
// from the sign-in page (Config.SignIns).
type ProviderSignIn struct {
	Provider, Account string
	Labels            auth.Labels
	// Until is when the provider is to be asked again: the session ends
	// then (or at SessionTTL, if sooner).
	Until time.Time
	// Next is the page to return to, as the sign-in brought it back.
	Next string
}

// ProviderSession opens the session of a provider's sign-in, which the
// provider's callback has verified (state, PKCE, nonce, the registry's
// admission rules), and sends the browser on. The session has no source
// to confirm it with (the provider is asked again only at a new sign-in),
// so it ends when the provider would be asked again.
func (u *UI) ProviderSession(w http.ResponseWriter, r *http.Request, p ProviderSignIn) {
	expires := u.cfg.Now().Add(u.cfg.SessionTTL)
	if p.Until.Before(expires) {
		expires = p.Until
	}
	labels := authn.CloneLabels(p.Labels)
	authn.TakeStamp(labels)
	u.open(w, r, auth.Session{Account: p.Account, Labels: labels, ExpiresAt: expires}, safeNext(p.Next))
}

// open stores a new session for s (its token, service and client set
// here), ends any session the browser brought along (no fixation), and
// sends the browser to next with the session's cookie.
func (u *UI) open(w http.ResponseWriter, r *http.Request, s auth.Session, next string) {
	ctx := r.Context()
	s.Service, s.ClientID = sessionService, sessionClient
	tok, err := newSecret()
	if err == nil {
		err = u.cfg.Store.CreateRefreshToken(ctx, tok, s)
	}
	if err != nil {
		u.fail(w, r, errcode.PageFailed, "The session could not be stored; try again.", err)
		return
	}
	if old := cookieValue(r, sessionCookie); old != "" {
		u.endToken(ctx, old)
	}
	u.log.InfoContext(ctx, "web interface: signed in", "account", s.Account, "source", s.Source, "ip", u.cfg.ClientIP(r))
	setCookie(w, r, loginCookie, "", -1)
	setCookie(w, r, sessionCookie, tok, max(int(s.ExpiresAt.Sub(u.cfg.Now()).Seconds()), 1))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// endToken revokes the session whose token is tok, if it is live.
func (u *UI) endToken(ctx context.Context, tok string) {
	s, err := u.cfg.Store.UseRefreshToken(ctx, tok, u.cfg.Now())
	if err == nil && s.Service == sessionService {
		u.endSession(ctx, s.ID)
	}
}

func (u *UI) endSession(ctx context.Context, id string) {
	if err := u.cfg.Store.RevokeRefreshToken(ctx, id, u.cfg.Now()); err != nil && !errors.Is(err, auth.ErrNoSession) {
		u.log.ErrorContext(ctx, "web interface: ending a session failed", "session", id, "err", err)
	}
}

// safeNext keeps a page of the interface to return to after sign-in, and
// nothing else: no other site, no scheme-relative URL.
func safeNext(next string) string {
	p, err := url.Parse(next)
	if next == "" || err != nil || p.Scheme != "" || p.Host != "" || p.User != nil ||
		!strings.HasPrefix(p.Path, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

// signedIn runs h for a live session only: the session's row, its
// backend's answer now (a password changed, an account disabled or
// removed ends it), and, for a POST, the form's CSRF token. Anything else
// goes back to the sign-in page.
func (u *UI) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := u.session(w, r)
		if !ok {
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				u.fail(w, r, errcode.PageInvalid, "The form is malformed.", err)
				return
			}
			if !sameCSRF(r.PostForm.Get("csrf"), s.CSRF) {
				u.fail(w, r, errcode.PageDenied, "This form expired or did not come from this site; open the page again.",
					errors.New("form without a matching CSRF token"))
				return
			}
		}
		s.Admin = u.administers(r, s)
		if r.Method == http.MethodGet {
			s.Done = doneMessages[r.URL.Query().Get("done")]
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)), s)
	}
}

// session reads the browser's session as it holds now, or answers (the
// sign-in page, or an error) and returns false.
func (u *UI) session(w http.ResponseWriter, r *http.Request) (*session, bool) {
	ctx := r.Context()
	tok := cookieValue(r, sessionCookie)
	toLogin := func() (*session, bool) {
		if tok != "" {
			setCookie(w, r, sessionCookie, "", -1)
		}
		next := Prefix
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(safeNext(next)), http.StatusSeeOther)
		return nil, false
	}
	if tok == "" {
		return toLogin()
	}
	rt, err := u.cfg.Store.UseRefreshToken(ctx, tok, u.cfg.Now())
	switch {
	case errors.Is(err, auth.ErrNoSession) || (err == nil && rt.Service != sessionService):
		return toLogin()
	case err != nil:
		u.fail(w, r, errcode.PageUnavailable, "The session cannot be checked now; try again later.", err)
		return nil, false
	}
	id := auth.Identity{Account: rt.Account, Labels: rt.Labels}
	if u.cfg.Sessions != nil && rt.Source != "" && u.cfg.Sessions.CanConfirm(rt.Source, rt.Stamp) {
		res, labels, err := u.cfg.Sessions.Confirm(ctx, rt.Source, rt.Account, rt.Stamp)
		switch {
		case err != nil:
			u.fail(w, r, errcode.PageUnavailable, "The account cannot be checked now; try again later.", err)
			return nil, false
		case res != authn.Accepted:
			u.log.InfoContext(ctx, "web interface: session ended", "account", rt.Account, "source", rt.Source, "session", rt.ID,
				"reason", "the backend no longer admits the account with the credential it signed in with")
			u.endSession(ctx, rt.ID)
			return toLogin()
		}
		id.Labels = labels
	}
	return &session{ID: rt.ID, Identity: id, CSRF: csrfToken(tok)}, true
}

// logout ends the session (its CSRF token checked by signedIn).
func (u *UI) logout(w http.ResponseWriter, r *http.Request, s *session) {
	u.endSession(r.Context(), s.ID)
	setCookie(w, r, sessionCookie, "", -1)
	u.log.InfoContext(r.Context(), "web interface: signed out", "account", s.Account())
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// allowed returns which of actions the ACL grants the session on repo,
// exactly as the token server decides a scope of a pull or delete.
func (u *UI) allowed(r *http.Request, s *session, repo string, actions ...string) ([]string, error) {
	granted, err := u.cfg.Authz.Authorize(r.Context(), auth.Request{Identity: s.Identity, Service: u.cfg.Service,
		IP: u.cfg.ClientIP(r), Access: auth.Access{Type: "repository", Name: repo, Actions: actions}})
	if err != nil && !errors.Is(err, authz.ErrNoMatch) {
		return nil, err
	}
	return granted, nil
}
