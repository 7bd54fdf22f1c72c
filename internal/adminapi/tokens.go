package adminapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/errcode"
	"wharf/internal/metadata"
)

// defaultTokenLifetime is how long a token lives when the request names no
// expiry, as for `wharf token create`.
const defaultTokenLifetime = 90 * 24 * time.Hour

// Token is an access token as the API shows it: never the token itself,
// except in the answer that creates it.
type Token = accounts.TokenView

func (a *API) toToken(t metadata.AccessToken) Token { return accounts.ViewToken(t, a.cfg.Now()) }

type tokenList struct {
	Tokens []Token `json:"tokens"`
	Next   string  `json:"next,omitempty"`
}

// listTokens answers GET /tokens[?user=&all=true]: the active tokens (all
// of them with all=true), ordered by id.
func (a *API) listTokens(w http.ResponseWriter, r *http.Request, _ caller) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	all := false
	if s := q.Get("all"); s != "" {
		if all, err = strconv.ParseBool(s); err != nil {
			return invalid("all", "all %q: want true or false", s)
		}
	}
	user := q.Get("user")
	if q.Has("user") && user == "" {
		return invalid("user", "user is empty; leave it out to list every user's tokens")
	}
	tokens, err := a.svc.Tokens(r.Context(), user)
	if err != nil {
		return err
	}
	if user != "" && len(tokens) == 0 {
		if _, err := a.svc.Store().GetUser(r.Context(), user); err != nil {
			return err
		}
	}
	shown := make([]Token, 0, len(tokens))
	for _, t := range tokens {
		if tt := a.toToken(t); all || tt.State == accounts.TokenActive {
			shown = append(shown, tt)
		}
	}
	slices.SortFunc(shown, func(x, y Token) int { return strings.Compare(x.ID, y.ID) })
	page, last := slice(shown, p, func(t Token) bool { return t.ID > p.last }, func(t Token) string { return t.ID })
	out := tokenList{Tokens: page}
	out.Next = nextLink(w, r, p, last)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) token(r *http.Request, id string) (Token, error) {
	tokens, err := a.svc.Tokens(r.Context(), "")
	if err != nil {
		return Token{}, err
	}
	i := slices.IndexFunc(tokens, func(t metadata.AccessToken) bool { return t.ID == id })
	if i < 0 {
		return Token{}, &errcode.Error{Code: errcode.AdminNotFound, Message: "no such access token " + quote(id)}
	}
	return a.toToken(tokens[i]), nil
}

func (a *API) getToken(w http.ResponseWriter, r *http.Request, _ caller) error {
	t, err := a.token(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// expiry is the expires_at member: an RFC 3339 time, or "never".
type expiry struct {
	set   bool
	never bool
	at    time.Time
}

func (e *expiry) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return invalid("expires_at", `expires_at: want an RFC 3339 time such as "2027-01-31T00:00:00Z", or "never"`)
	}
	e.set = true
	if s == "never" {
		e.never = true
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return invalid("expires_at", `expires_at %q: want an RFC 3339 time such as "2027-01-31T00:00:00Z", or "never"`, s)
	}
	e.at = t
	return nil
}

// newTokenRequest is the body of POST /tokens.
type newTokenRequest struct {
	User        string   `json:"user"`
	Scopes      []string `json:"scopes"`
	Description string   `json:"description"`
	ExpiresAt   expiry   `json:"expires_at"`
}

// createToken makes an access token and answers with it: the only time it
// is shown. Only its hash is stored; it is never logged.
func (a *API) createToken(w http.ResponseWriter, r *http.Request, c caller) error {
	var req newTokenRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.User == "" {
		return invalid("user", "user is required: the user or robot account the token logs in as")
	}
	if _, err := accounts.ParseScopes(req.Scopes); err != nil {
		return about("scopes", err)
	}
	exp := a.cfg.Now().Add(defaultTokenLifetime)
	switch {
	case req.ExpiresAt.never:
		exp = time.Time{}
	case req.ExpiresAt.set:
		exp = req.ExpiresAt.at
	}
	secret, t, err := a.svc.CreateToken(r.Context(), accounts.NewToken{User: req.User, Description: req.Description, Scopes: req.Scopes, ExpiresAt: exp})
	if err != nil {
		return err
	}
	a.audit(r, c, "access token created", "token_id", t.ID, "user", t.User, "scopes", t.Scopes)
	out := accounts.CreatedTokenView{TokenView: a.toToken(t), Warnings: []string{}}
	out.Token = secret.Reveal()
	// The token exists now: a failure to say what the ACL grants it is
	// logged, and the answer still carries the token.
	shortfalls, err := a.svc.TokenShortfalls(r.Context(), t.User, t.Scopes)
	if err != nil {
		a.log.ErrorContext(r.Context(), "admin API: checking what the ACL grants a new token failed", "token_id", t.ID, "err", err)
	}
	out.Warnings = append(out.Warnings, accounts.Warnings(shortfalls)...)
	w.Header().Set("Location", Prefix+"tokens/"+t.ID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// revokeToken revokes a token and the sessions opened with it; the record
// stays, for GET /tokens?all=true. Revoking a revoked token is no error.
func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.PathValue("id")
	if _, err := a.svc.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	a.audit(r, c, "access token revoked", "token_id", id)
	t, err := a.token(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}
