package ui

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/errcode"
	"wharf/internal/metadata"
)

// defaultTokenDays is a new token's lifetime when the form names none, as
// `wharf token create` and the admin API give it.
const defaultTokenDays = 90

// tokensPage lists the active access tokens of every account by id, a
// page at a time, with a form to create one.
func (u *UI) tokensPage(w http.ResponseWriter, r *http.Request, s *session) {
	listPage(u, w, r, s, adminList[metadata.AccessToken, accounts.TokenView]{page: "admin/tokens", what: "access tokens",
		read: func(ctx context.Context, after string, n int) ([]metadata.AccessToken, error) {
			return u.cfg.Accounts.ActiveTokens(ctx, "", after, n)
		},
		key: func(t metadata.AccessToken) string { return t.ID }, view: u.viewToken})
}

func (u *UI) viewToken(t metadata.AccessToken) accounts.TokenView {
	return accounts.ViewToken(t, u.cfg.Now())
}

// activeTokens are user's tokens that still work, by id.
func (u *UI) activeTokens(ctx context.Context, user string) ([]accounts.TokenView, error) {
	tokens, err := u.cfg.Accounts.ActiveTokens(ctx, user, "", 0)
	if err != nil {
		return nil, err
	}
	views := make([]accounts.TokenView, 0, len(tokens))
	for _, t := range tokens {
		views = append(views, u.viewToken(t))
	}
	return views, nil
}

type createdData struct {
	Session  *session
	Token    accounts.CreatedTokenView
	Host     string
	Back     string
	Warnings []string
}

// newToken creates a token for user from the form (scopes separated by
// spaces, commas or lines; a lifetime in days, 0 for none) and shows it,
// the only time it is shown, with what the ACL would not grant it.
func (u *UI) newToken(w http.ResponseWriter, r *http.Request, s *session, user, back string) {
	f := r.PostForm
	scopes := strings.FieldsFunc(f.Get("scopes"), func(c rune) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' })
	days := defaultTokenDays
	if v := strings.TrimSpace(f.Get("days")); v != "" {
		var err error
		if days, err = strconv.Atoi(v); err != nil || days < 0 || days > 3650 {
			u.fail(w, r, errcode.PageInvalid, "The lifetime is a number of days from 1 to 3650, or 0 for a token that never expires.", nil)
			return
		}
	}
	var exp time.Time
	if days > 0 {
		exp = u.cfg.Now().Add(time.Duration(days) * 24 * time.Hour)
	}
	secret, t, err := u.cfg.Accounts.CreateToken(r.Context(), accounts.NewToken{User: user, Description: strings.TrimSpace(f.Get("description")), Scopes: scopes, ExpiresAt: exp})
	if err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: access token created", "by", s.Account(), "token_id", t.ID, "user", t.User, "scopes", t.Scopes)
	d := createdData{Session: s, Token: accounts.CreatedTokenView{TokenView: accounts.ViewToken(t, u.cfg.Now())}, Host: hostOf(r), Back: back}
	d.Token.Token = secret.Reveal()
	shortfalls, err := u.cfg.Accounts.TokenShortfalls(r.Context(), t.User, t.Scopes)
	if err != nil {
		u.log.ErrorContext(r.Context(), "web interface: checking what the ACL grants a new token failed", "token_id", t.ID, "err", err)
	}
	d.Warnings = accounts.Warnings(shortfalls)
	u.render(w, r, http.StatusCreated, "token_created.html", d)
}

func (u *UI) createToken(w http.ResponseWriter, r *http.Request, s *session) {
	u.newToken(w, r, s, strings.TrimSpace(r.PostForm.Get("user")), Prefix+"admin/tokens")
}

// revoke revokes token id (and the sessions opened with it) and goes back
// to page.
func (u *UI) revoke(w http.ResponseWriter, r *http.Request, s *session, id, page string) {
	if _, err := u.cfg.Accounts.RevokeToken(r.Context(), id); err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: access token revoked", "by", s.Account(), "token_id", id)
	done(w, r, page, "token-revoked")
}

func (u *UI) revokeToken(w http.ResponseWriter, r *http.Request, s *session) {
	u.revoke(w, r, s, r.PathValue("id"), "admin/tokens")
}

// sessionsPage lists the live sessions (docker logins and the web
// interface's) by id, a page at a time.
func (u *UI) sessionsPage(w http.ResponseWriter, r *http.Request, s *session) {
	listPage(u, w, r, s, adminList[metadata.RefreshToken, accounts.SessionView]{page: "admin/sessions", what: "sessions",
		read: u.cfg.Accounts.SessionsAfter, key: func(rt metadata.RefreshToken) string { return rt.ID }, view: accounts.ViewSession})
}

func (u *UI) revokeSession(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if _, err := u.cfg.Accounts.RevokeSession(r.Context(), id); err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: session revoked", "by", s.Account(), "session", id)
	done(w, r, "admin/sessions", "session-revoked")
}

type meData struct {
	Session *session
	// Database is set when the account is a database user or robot: only
	// those have access tokens and teams.
	Database bool
	Teams    []string
	// Items are the account's active tokens (named as a list page's
	// items: the tokens' table is the administration's).
	Items []accounts.TokenView
	Host  string
	Own   bool
	// CA is set with tls: auto: the local CA's certificate can be
	// downloaded, and the page says where each client wants it.
	CA bool
}

// mePage is the signed-in account's own page: its tokens and teams, and
// how to log in from docker, podman and helm on another machine.
func (u *UI) mePage(w http.ResponseWriter, r *http.Request, s *session) {
	d := meData{Session: s, Host: hostOf(r), Own: true, CA: u.cfg.CACertPath != ""}
	user, err := u.cfg.Accounts.Store().GetUser(r.Context(), s.Account())
	switch {
	case err == nil && s.Identity.Labels.Source() == accounts.SourceDatabase:
		d.Database, d.Teams = true, user.Teams
		if d.Items, err = u.activeTokens(r.Context(), s.Account()); err != nil {
			u.fail(w, r, errcode.PageUnavailable, "Your access tokens cannot be listed now; try again later.", err)
			return
		}
	case err != nil && !accounts.IsNotFound(err):
		u.fail(w, r, errcode.PageUnavailable, "Your account cannot be read now; try again later.", err)
		return
	}
	u.render(w, r, http.StatusOK, "me.html", d)
}

// mine answers 404 unless the session's account is a database account,
// the only kind that has access tokens.
func (u *UI) mine(w http.ResponseWriter, r *http.Request, s *session) bool {
	if s.Identity.Labels.Source() != accounts.SourceDatabase {
		u.fail(w, r, errcode.PageNotFound, "Only database accounts have access tokens; yours comes from another backend.", nil)
		return false
	}
	return true
}

func (u *UI) createMyToken(w http.ResponseWriter, r *http.Request, s *session) {
	if u.mine(w, r, s) {
		u.newToken(w, u.asActor(r, s), s, s.Account(), Prefix+"me")
	}
}

// revokeMyToken revokes one of the account's own tokens; another's is
// answered as one that does not exist.
func (u *UI) revokeMyToken(w http.ResponseWriter, r *http.Request, s *session) {
	if !u.mine(w, r, s) {
		return
	}
	id := r.PathValue("id")
	tokens, err := u.cfg.Accounts.Tokens(r.Context(), s.Account())
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "Your access tokens cannot be listed now; try again later.", err)
		return
	}
	if !slices.ContainsFunc(tokens, func(t metadata.AccessToken) bool { return t.ID == id }) {
		u.fail(w, r, errcode.PageNotFound, "You have no such access token.", nil)
		return
	}
	u.revoke(w, u.asActor(r, s), s, id, "me")
}

// maxCACert bounds what is read of the CA certificate file.
const maxCACert = 64 << 10

// caCert sends tls: auto's local CA certificate, read when asked (it is
// made again when tls_names change), for clients to trust.
func (u *UI) caCert(w http.ResponseWriter, r *http.Request, _ *session) {
	if u.cfg.CACertPath == "" {
		u.fail(w, r, errcode.PageNotFound, "This server has no local CA (tls: auto is off).", nil)
		return
	}
	f, err := os.Open(u.cfg.CACertPath)
	var pem []byte
	if err == nil {
		pem, err = io.ReadAll(io.LimitReader(f, maxCACert))
		f.Close()
	}
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The CA certificate cannot be read now; the server log says why.", err)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="ca.crt"`)
	_, _ = w.Write(pem)
}
