package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
)

// The scope a caller must hold: type admin, name api, every action. The
// ACL grants it like any other (the built-in default gives admin "*" on
// everything); an access token needs it among its scopes.
const (
	ScopeType   = "admin"
	ScopeName   = "api"
	ScopeAction = "*"
)

// Scope is the scope string clients ask the token endpoint for.
var Scope = auth.Access{Type: ScopeType, Name: ScopeName, Actions: []string{ScopeAction}}.String()

// caller is who an admin request comes from, for the audit log.
type caller struct {
	account string
	via     string // "bearer" or "basic"
}

// authenticate lets in callers holding the admin scope: a bearer token
// from this server's token endpoint that grants it, or HTTP Basic
// credentials (a password or an access token) checked by the token
// server's authenticator chain and rate limiter, whose account the
// authorizer chain grants it. Anything else is refused.
func (a *API) authenticate(r *http.Request) (caller, error) {
	h := r.Header.Get("Authorization")
	scheme, _, _ := strings.Cut(h, " ")
	switch {
	case h == "":
		return caller{}, a.unauthorized(r, "", "authentication required: a bearer token with scope "+Scope+", or Basic credentials")
	case strings.EqualFold(scheme, "Bearer"):
		return a.bearer(r)
	case strings.EqualFold(scheme, "Basic"):
		return a.basic(r)
	}
	return caller{}, a.unauthorized(r, "", "unsupported Authorization scheme; use Bearer or Basic")
}

func (a *API) bearer(r *http.Request) (caller, error) {
	_, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > token.MaxTokenSize {
		return caller{}, a.unauthorized(r, "invalid_token", "invalid token")
	}
	claims, err := a.cfg.Verifier.Verify(raw)
	if err != nil {
		a.log.InfoContext(r.Context(), "admin API: token rejected", "reason", err.Error(), "ip", a.cfg.ClientIP(r))
		msg := "invalid token"
		if errors.Is(err, token.ErrExpired) {
			msg = "token expired; get a new one"
		}
		return caller{}, a.unauthorized(r, "invalid_token", msg)
	}
	if !claims.Allows(ScopeType, ScopeName, ScopeAction) {
		a.log.InfoContext(r.Context(), "admin API: access denied", "account", claims.Subject, "via", "bearer", "ip", a.cfg.ClientIP(r))
		return caller{}, a.forbidden(r, "insufficient_scope")
	}
	// A token outlives nothing it was issued for: a database account
	// disabled since is refused at once, not when the token expires.
	// (Configured accounts are asked before the database, so a database
	// user of the same name is not the token's subject.)
	if _, configured := a.cfg.Configured[claims.Subject]; !configured {
		snap, err := a.cfg.Live.Snapshot(r.Context())
		if err != nil {
			return caller{}, err
		}
		if acct, ok := snap.Account(claims.Subject); ok && acct.Disabled {
			a.log.InfoContext(r.Context(), "admin API: token of a disabled account refused", "account", claims.Subject, "ip", a.cfg.ClientIP(r))
			return caller{}, a.unauthorized(r, "invalid_token", "the account is disabled")
		}
	}
	return caller{account: claims.Subject, via: "bearer"}, nil
}

func (a *API) basic(r *http.Request) (caller, error) {
	ctx := r.Context()
	user, pass, ok := r.BasicAuth()
	if !ok {
		return caller{}, a.unauthorized(r, "", "malformed Basic credentials")
	}
	ip := a.cfg.ClientIP(r)
	if ok, wait := a.cfg.Limiter.Allow(user, ip); !ok {
		a.log.WarnContext(ctx, "admin API: login rate-limited", "account", user, "ip", ip, "retry_after", wait)
		return caller{}, &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyRequests,
			Message: "too many failed logins; retry later", RetryAfter: max(int(wait.Round(time.Second)/time.Second), 1)}
	}
	if user == "" {
		a.cfg.Limiter.Failed(user, ip)
		return caller{}, a.unauthorized(r, "", "a user name is required")
	}
	res, labels, err := a.cfg.Authn.Authenticate(ctx, user, auth.Secret(pass))
	if err != nil {
		a.log.ErrorContext(ctx, "admin API: authentication backend failed; login refused", "account", user, "ip", ip, "err", err)
		return caller{}, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "the authentication backend is unavailable; retry later (the server log has the details)"}
	}
	if res != authn.Accepted {
		a.cfg.Limiter.Failed(user, ip)
		a.log.InfoContext(ctx, "admin API: login failed", "account", user, "ip", ip, "result", res.String())
		return caller{}, a.unauthorized(r, "", "incorrect username or password")
	}
	a.cfg.Limiter.Succeeded(user, ip)
	need := auth.Access{Type: ScopeType, Name: ScopeName, Actions: []string{ScopeAction}}
	granted, err := a.cfg.Authz.Authorize(ctx, auth.Request{Identity: auth.Identity{Account: user, Labels: labels},
		Service: a.cfg.TokenService, IP: ip, Access: need})
	if err != nil && !errors.Is(err, authz.ErrNoMatch) {
		a.log.ErrorContext(ctx, "admin API: authorization backend failed; access refused", "account", user, "err", err)
		return caller{}, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: "the authorization backend is unavailable; retry later (the server log has the details)"}
	}
	if !slices.Contains(granted, ScopeAction) {
		a.log.InfoContext(ctx, "admin API: access denied", "account", user, "via", "basic", "ip", ip, "granted", granted)
		return caller{}, a.forbidden(r, "")
	}
	return caller{account: user, via: "basic"}, nil
}

// unauthorized answers 401 with both challenges: Bearer, naming the token
// endpoint, the service and the scope to ask for, and Basic.
func (a *API) unauthorized(r *http.Request, errCode, msg string) error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: msg,
		Challenge: []string{a.bearerChallenge(r, errCode), `Basic realm=` + strconv.Quote(a.cfg.BasicRealm) + `,charset="UTF-8"`}}
}

func (a *API) forbidden(r *http.Request, errCode string) error {
	e := &Error{Status: http.StatusForbidden, Code: CodeForbidden,
		Message: "this account is not granted " + Scope + ", which the admin API needs; an ACL rule must grant it"}
	if errCode != "" {
		e.Challenge = []string{a.bearerChallenge(r, errCode)}
	}
	return e
}

func (a *API) bearerChallenge(r *http.Request, errCode string) string {
	c := fmt.Sprintf(`Bearer realm=%q,service=%q,scope=%q`, a.cfg.Realm(r), a.cfg.TokenService, Scope)
	if errCode != "" {
		c += fmt.Sprintf(`,error=%q`, errCode)
	}
	return c
}
