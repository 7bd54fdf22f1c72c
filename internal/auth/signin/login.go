package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"wharf/internal/auth"
	"wharf/internal/errcode"
)

// Limits of sign-ins in progress.
const (
	attemptTTL  = 10 * time.Minute
	maxAttempts = 10000
)

// Public is how the browser reached this server, behind proxies or not.
type Public func(r *http.Request) (scheme, host string)

// LoginConfig is what NewLogin needs.
type LoginConfig struct {
	Provider Provider
	Store    Store
	// Attempts keeps the sign-ins in progress; nil means this process's
	// memory, which only works with one process.
	Attempts Attempts
	// RedirectURL is the callback registered at the provider. Empty means
	// the browser's own scheme and host with CallbackPath, or, with
	// OmitRedirect, none at all (the provider uses the registered one).
	RedirectURL  string
	CallbackPath string
	OmitRedirect bool
	// StartPath is where a sign-in starts, linked from error pages.
	StartPath string
	// Public tells the browser's scheme and host.
	Public Public
	// RegistryHost is shown in the docker login command; empty means the
	// host the browser used.
	RegistryHost string
	// UIPath, when set, is the web interface's sign-in page, which the
	// result page links to: the registry password signs in there too.
	UIPath string
	// UISession, when set, opens a web interface session for a sign-in
	// started with ?ui=1 (the interface's sign-in page links there) and
	// sends the browser on: such a sign-in issues no registry password,
	// so the one docker login holds stays valid.
	UISession        func(w http.ResponseWriter, r *http.Request, s UISignIn)
	RevalidateAfter  time.Duration
	PasswordLifetime time.Duration
	// Timeout bounds the calls to the provider during a callback.
	Timeout time.Duration
	Log     *slog.Logger
	Now     func() time.Time
}

// UISignIn is a sign-in to the web interface, as the provider admitted
// it.
type UISignIn struct {
	Provider, Account string
	Labels            auth.Labels
	// Until is when the provider would be asked again (revalidate_after):
	// the session ends then, and the next sign-in asks it.
	Until time.Time
	// Next is the page the sign-in started from, unchecked.
	Next string
}

// Login serves a provider's sign-in: Start sends the browser to the
// provider, Callback receives it back and shows the registry password.
type Login struct {
	c   LoginConfig
	log *slog.Logger
}

// NewLogin returns the sign-in handlers of one provider.
func NewLogin(c LoginConfig) (*Login, error) {
	if c.Provider == nil || c.Store == nil || c.Public == nil {
		return nil, errors.New("signin: login needs a provider, a store and the public URL")
	}
	if c.PasswordLifetime <= 0 || c.RevalidateAfter <= 0 || c.Timeout <= 0 {
		return nil, errors.New("signin: password lifetime, revalidate_after and timeout must be positive")
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Attempts == nil {
		c.Attempts = newMemoryAttempts(c.Now)
	}
	return &Login{c: c, log: c.Log.With("component", "signin", "backend", c.Provider.Name())}, nil
}

// cookieName binds one provider's sign-in to the browser that started it.
func (l *Login) cookieName() string { return "wharf_signin_" + l.c.Provider.Name() }

func randomString() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (l *Login) redirectURL(r *http.Request) string {
	switch {
	case l.c.RedirectURL != "":
		return l.c.RedirectURL
	case l.c.OmitRedirect:
		return ""
	}
	scheme, host := l.c.Public(r)
	return scheme + "://" + host + l.c.CallbackPath
}

// Start creates a sign-in attempt (state, nonce, PKCE verifier), binds it
// to the browser with a cookie and redirects to the provider.
func (l *Login) Start(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		l.fail(w, r, errcode.PageMethod, "Use GET to sign in.", nil)
		return
	}
	state, err1 := randomString()
	nonce, err2 := randomString()
	if err := errors.Join(err1, err2); err != nil {
		l.fail(w, r, errcode.PageFailed, "Could not start the sign-in.", err)
		return
	}
	a := Attempt{State: state, Nonce: nonce, Verifier: oauth2.GenerateVerifier(), RedirectURL: l.redirectURL(r)}
	if q := r.URL.Query(); q.Get("ui") == "1" && l.c.UISession != nil {
		a.UI, a.Next = true, clip(q.Get("next"))
	}
	err := l.c.Attempts.Put(r.Context(), l.c.Provider.Name(), a, l.c.Now().Add(attemptTTL))
	switch {
	case errors.Is(err, ErrTooManyAttempts):
		l.fail(w, r, errcode.PageUnavailable, "Too many sign-ins are in progress; try again in a few minutes.", err)
		return
	case err != nil:
		l.fail(w, r, errcode.PageFailed, "Could not start the sign-in.", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), l.c.Timeout)
	defer cancel()
	target, err := l.c.Provider.AuthCodeURL(ctx, a)
	if err != nil {
		_, _, _ = l.c.Attempts.Take(r.Context(), l.c.Provider.Name(), state)
		l.fail(w, r, errcode.PageUpstream, l.c.Provider.Title()+" cannot be reached; try again later.", err)
		return
	}
	scheme, _ := l.c.Public(r)
	http.SetCookie(w, &http.Cookie{
		Name: l.cookieName(), Value: state, Path: "/", MaxAge: int(attemptTTL / time.Second),
		HttpOnly: true, Secure: scheme == "https", SameSite: http.SameSiteLaxMode,
	})
	noStore(w)
	http.Redirect(w, r, target, http.StatusFound)
}

// maxParam bounds the query values a callback takes.
const maxParam = 4096

// Callback finishes a sign-in: it checks the state against the browser's
// cookie, exchanges the code (with the PKCE verifier) and shows the new
// registry password once.
func (l *Login) Callback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		l.fail(w, r, errcode.PageMethod, "Use GET.", nil)
		return
	}
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	// The cookie has done its job whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: l.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if len(state) > maxParam || len(code) > maxParam {
		l.fail(w, r, errcode.PageInvalid, "The sign-in request is malformed.", errors.New("oversized state or code"))
		return
	}
	cookie, err := r.Cookie(l.cookieName())
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(state)) != 1 {
		l.fail(w, r, errcode.PageInvalid, "This sign-in was not started in this browser, or it was already used. Start again.",
			errors.New("state does not match the browser's cookie"))
		return
	}
	a, ok, err := l.c.Attempts.Take(r.Context(), l.c.Provider.Name(), state)
	if err != nil {
		l.fail(w, r, errcode.PageFailed, "Could not finish the sign-in; try again.", err)
		return
	}
	if !ok {
		l.fail(w, r, errcode.PageInvalid, "This sign-in expired or was already used. Start again.", errors.New("unknown or expired state"))
		return
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		l.fail(w, r, errcode.PageDenied, fmt.Sprintf("%s refused the sign-in: %s %s", l.c.Provider.Title(), clip(e), clip(desc)),
			fmt.Errorf("provider error %q", clip(e)))
		return
	}
	if code == "" {
		l.fail(w, r, errcode.PageInvalid, "The provider sent no authorization code. Start again.", errors.New("no code"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), l.c.Timeout)
	defer cancel()
	s, err := l.c.Provider.Exchange(ctx, a, code)
	if err == nil {
		if cerr := CheckAccount(s.Account); cerr != nil {
			err = fmt.Errorf("%w: %v", ErrDenied, cerr)
		}
	}
	switch {
	case errors.Is(err, ErrDenied):
		l.fail(w, r, errcode.PageDenied, "You signed in, but this registry does not admit you: "+strings.TrimPrefix(err.Error(), ErrDenied.Error()+": "), err)
		return
	case err != nil:
		l.fail(w, r, errcode.PageUpstream, "The sign-in with "+l.c.Provider.Title()+" failed. Start again; if it keeps failing, the server's log says why.", err)
		return
	}
	if a.UI && l.c.UISession != nil {
		l.log.InfoContext(r.Context(), "signed in to the web interface", "user", s.Account, "labels", s.Labels)
		l.c.UISession(w, r, UISignIn{Provider: l.c.Provider.Name(), Account: s.Account, Labels: s.Labels,
			Until: l.c.Now().Add(l.c.RevalidateAfter), Next: a.Next})
		return
	}
	pw, hash, err := NewPassword(l.c.Provider.Name())
	if err != nil {
		l.fail(w, r, errcode.PageFailed, "Could not make a password.", err)
		return
	}
	now := l.c.Now()
	rec := Record{Backend: l.c.Provider.Name(), Account: s.Account, PasswordHash: hash, Labels: s.Labels, Token: s.Token,
		Created: now, RevalidateAt: now.Add(l.c.RevalidateAfter), ExpiresAt: now.Add(l.c.PasswordLifetime)}
	if err := l.c.Store.Put(r.Context(), rec); err != nil {
		l.fail(w, r, errcode.PageFailed, "Could not record the sign-in.", err)
		return
	}
	l.log.InfoContext(r.Context(), "signed in; registry password issued", "user", s.Account, "labels", s.Labels, "expires", rec.ExpiresAt.UTC())
	host := l.c.RegistryHost
	if host == "" {
		_, host = l.c.Public(r)
	}
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := resultPage.Execute(w, resultData{Provider: l.c.Provider.Title(), Account: s.Account, Password: pw.Reveal(),
		Registry: host, Expires: rec.ExpiresAt.UTC().Format(time.RFC1123), Revalidate: l.c.RevalidateAfter.String(), UI: l.c.UIPath}); err != nil {
		l.log.WarnContext(r.Context(), "writing the result page", "err", err)
	}
}

// Handler serves docker_auth's single path (/oidc_auth, /github_auth, …):
// the callback when the provider's answer is in the query, the start
// otherwise.
func (l *Login) Handler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("code") || q.Has("state") || q.Has("error") {
		l.Callback(w, r)
		return
	}
	l.Start(w, r)
}

func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// noStore keeps pages with secrets out of caches and frames.
func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'")
}

// fail shows message to the browser, with code's status, and logs err.
func (l *Login) fail(w http.ResponseWriter, r *http.Request, code errcode.Code, message string, err error) {
	status := code.Status()
	if err != nil {
		l.log.WarnContext(r.Context(), "sign-in failed", "status", status, "reason", err.Error(), "remote", r.RemoteAddr)
	}
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, errorData{Provider: l.c.Provider.Title(), Message: message, Start: l.c.StartPath})
}
