package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
	"wharf/internal/errcode"
	"wharf/internal/gate"
)

// The scope a caller must hold: type admin, name api, every action
// (accounts', which also keeps an account that holds it). The ACL grants
// it like any other (the built-in default gives admin "*" on
// everything); an access token needs it among its scopes.
const (
	ScopeType   = accounts.AdminScopeType
	ScopeName   = accounts.AdminScopeName
	ScopeAction = accounts.AdminScopeAction
)

// Scope is the scope string clients ask the token endpoint for.
var Scope = auth.Access{Type: ScopeType, Name: ScopeName, Actions: []string{ScopeAction}}.String()

// requirement is what a guarded endpoint asks of its callers: one scope
// (one action), and the endpoint's name for log lines and messages.
type requirement struct {
	access auth.Access
	// what names the endpoint in messages, logAs in log lines.
	what, logAs string
}

func (n requirement) scope() string { return n.access.String() }

// adminAPI is the admin API's requirement.
var adminAPI = requirement{access: auth.Access{Type: ScopeType, Name: ScopeName, Actions: []string{ScopeAction}}, what: "the admin API", logAs: "admin API"}

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
func (a *API) authenticate(r *http.Request, need requirement) (caller, error) {
	h := r.Header.Get("Authorization")
	scheme, _, _ := strings.Cut(h, " ")
	switch {
	case h == "":
		return caller{}, a.unauthorized(r, need, "", "authentication required: a bearer token with scope "+need.scope()+", or Basic credentials")
	case strings.EqualFold(scheme, "Bearer"):
		return a.bearer(r, need)
	case strings.EqualFold(scheme, "Basic"):
		return a.basic(r, need)
	}
	return caller{}, a.unauthorized(r, need, "", "unsupported Authorization scheme; use Bearer or Basic")
}

func (a *API) bearer(r *http.Request, need requirement) (caller, error) {
	_, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > token.MaxTokenSize {
		return caller{}, a.unauthorized(r, need, "invalid_token", "invalid token")
	}
	claims, err := a.cfg.Verifier.Verify(raw)
	if err != nil {
		a.log.InfoContext(r.Context(), need.logAs+": token rejected", "reason", err.Error(), "ip", a.cfg.ClientIP(r))
		msg := "invalid token"
		if errors.Is(err, token.ErrExpired) {
			msg = "token expired; get a new one"
		}
		return caller{}, a.unauthorized(r, need, "invalid_token", msg)
	}
	if !claims.Allows(need.access.Type, need.access.Name, need.access.Actions[0]) {
		a.log.InfoContext(r.Context(), need.logAs+": access denied", "account", claims.Subject, "via", "bearer", "ip", a.cfg.ClientIP(r))
		a.refused(r, claims.Subject, false, "the token does not grant "+need.scope())
		return caller{}, a.forbidden(r, need, "insufficient_scope")
	}
	// A token outlives nothing it was issued for: a database account
	// removed or disabled since, an access token revoked, a rule that no
	// longer grants the scope, or a configured account removed, refuses it
	// at once, not when it expires.
	if reason, err := a.stillLive(r, claims, need); err != nil {
		return caller{}, err
	} else if reason != "" {
		a.log.InfoContext(r.Context(), need.logAs+": token refused", "account", claims.Subject, "reason", reason, "ip", a.cfg.ClientIP(r))
		return caller{}, a.unauthorized(r, need, "invalid_token", "this token no longer holds: "+reason+"; get a new one")
	}
	return caller{account: claims.Subject, via: "bearer"}, nil
}

func (a *API) basic(r *http.Request, need requirement) (caller, error) {
	ctx := r.Context()
	user, pass, ok := r.BasicAuth()
	if !ok {
		return caller{}, a.unauthorized(r, need, "", "malformed Basic credentials")
	}
	ip := a.cfg.ClientIP(r)
	res, labels, err := a.cfg.Limiter.Login(ctx, a.cfg.Authn, user, auth.Secret(pass), ip)
	switch {
	case errors.Is(err, authn.ErrRateLimited):
		a.log.WarnContext(ctx, need.logAs+": login rate-limited", "account", user, "ip", ip, "err", err)
		a.refused(r, user, true, "rate limited")
		return caller{}, a.noDecision(r, err, authentication)
	case err != nil:
		return caller{}, a.noDecision(r, err, authentication, "account", user, "ip", ip)
	case res != authn.Accepted && user == "":
		return caller{}, a.unauthorized(r, need, "", "a user name is required")
	case res != authn.Accepted:
		a.log.InfoContext(ctx, need.logAs+": login failed", "account", user, "ip", ip, "result", res.String())
		a.refused(r, user, true, "wrong credentials")
		return caller{}, a.unauthorized(r, need, "", "incorrect username or password")
	}
	granted, err := a.cfg.Authz.Authorize(ctx, auth.Request{Identity: auth.Identity{Account: user, Labels: labels},
		Service: a.cfg.TokenService, IP: ip, Access: need.access})
	if err != nil && !errors.Is(err, authz.ErrNoMatch) {
		return caller{}, a.noDecision(r, err, authorization, "account", user)
	}
	if !slices.Contains(granted, need.access.Actions[0]) {
		a.log.InfoContext(ctx, need.logAs+": access denied", "account", user, "via", "basic", "ip", ip, "granted", granted)
		a.refused(r, user, false, "the account is not granted "+need.scope())
		return caller{}, a.forbidden(r, need, "")
	}
	return caller{account: user, via: "basic"}, nil
}

// stillLive decides a verified token's subject again, as the token server
// would now: "" when it still holds the admin scope, else why not. Its
// labels are read live where Wharf keeps them: the database's accounts
// (with the access token the token names) and the configuration's. An
// account of another backend (LDAP, a sign-in, …) cannot be read without
// its password; its token lives out its few minutes.
func (a *API) stillLive(r *http.Request, claims *token.Claims, need requirement) (string, error) {
	source := claims.Source
	_, configured := a.cfg.Configured[claims.Subject]
	if source == "" { // a token of an earlier version
		source = accounts.SourceDatabase
		if configured {
			source = "static"
		}
	}
	id := auth.Identity{Account: claims.Subject, Labels: auth.Labels{auth.LabelSource: {source}}}
	switch source {
	case "static":
		if !configured {
			return "the account is no longer configured", nil
		}
		for k, v := range a.cfg.Configured[claims.Subject] {
			id.Labels[k] = v
		}
		id.Labels[auth.LabelSource] = []string{source}
	case accounts.SourceDatabase:
		if claims.TokenID != "" {
			id.Labels[auth.LabelToken] = []string{claims.TokenID}
		}
		// The authorizer's guard reads the account and the token as they
		// are now, and grants nothing to a removed or disabled account or
		// a revoked or expired token.
	default:
		return "", nil
	}
	granted, err := a.cfg.Authz.Authorize(r.Context(), auth.Request{Identity: id, Service: a.cfg.TokenService, IP: a.cfg.ClientIP(r),
		Access: need.access})
	if err != nil && !errors.Is(err, authz.ErrNoMatch) {
		return "", a.noDecision(r, err, authorization, "account", claims.Subject)
	}
	if !slices.Contains(granted, need.access.Actions[0]) {
		return "the account, its access token or the rule that granted " + need.scope() + " is gone or disabled", nil
	}
	return "", nil
}

// The chains whose failures noDecision names.
const (
	authentication = "authentication"
	authorization  = "authorization"
)

// noDecision is the answer to an error that decided nothing: a rate limit
// (429), a full gate (503; the gate logs), or a failure of the chain named
// by backend (503; logged with attrs, never shown). Each has a Retry-After.
func (a *API) noDecision(r *http.Request, err error, backend string, attrs ...any) *errcode.Error {
	var limited *authn.LimitedError
	var busy *gate.BusyError
	switch {
	case errors.As(err, &limited):
		return &errcode.Error{Code: errcode.AdminTooManyRequests,
			Message: "too many " + limited.What + "; retry later", RetryAfter: limited.RetryAfterSeconds()}
	case errors.As(err, &busy):
		return &errcode.Error{Code: errcode.AdminUnavailable,
			Message: "the server is busy (" + busy.What + "); retry in a moment", RetryAfter: busy.RetryAfterSeconds()}
	}
	refused := "access refused"
	if backend == authentication {
		refused = "login refused"
	}
	a.log.ErrorContext(r.Context(), "admin API: "+backend+" backend failed; "+refused, append(attrs, "err", err)...)
	return &errcode.Error{Code: errcode.AdminUnavailable,
		Message: "the " + backend + " backend is unavailable; retry later (the server log has the details)"}
}

// unauthorized answers 401 with both challenges: Bearer, naming the token
// endpoint, the service and the scope to ask for, and Basic.
func (a *API) unauthorized(r *http.Request, need requirement, errCode, msg string) error {
	return &errcode.Error{Code: errcode.AdminUnauthorized, Message: msg,
		Challenges: []string{a.bearerChallenge(r, need, errCode), `Basic realm=` + strconv.Quote(a.cfg.BasicRealm) + `,charset="UTF-8"`}}
}

func (a *API) forbidden(r *http.Request, need requirement, errCode string) error {
	e := &errcode.Error{Code: errcode.AdminForbidden,
		Message: "this account is not granted " + need.scope() + ", which " + need.what + " needs; an ACL rule must grant it"}
	if errCode != "" {
		e.Challenges = []string{a.bearerChallenge(r, need, errCode)}
	}
	return e
}

func (a *API) bearerChallenge(r *http.Request, need requirement, errCode string) string {
	c := fmt.Sprintf(`Bearer realm=%q,service=%q,scope=%q`, a.cfg.Realm(r), a.cfg.TokenService, need.scope())
	if errCode != "" {
		c += fmt.Sprintf(`,error=%q`, errCode)
	}
	return c
}

func (a *API) refused(r *http.Request, account string, failed bool, reason string) {
	if a.cfg.Refused != nil {
		a.cfg.Refused(r.Context(), account, a.cfg.ClientIP(r), failed, reason)
	}
}
