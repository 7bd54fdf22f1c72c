package tokenserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/gate"
)

// RefreshStore keeps the sessions refresh tokens stand for, the tokens
// stored hashed; accounts.SessionStore keeps them in the metadata
// database. The token server knows no database: a session that is unknown,
// revoked or expired is auth.ErrNoSession (errors.Is), any other error a
// store failure.
type RefreshStore interface {
	// CreateRefreshToken stores s under token (s.ID is derived from it).
	CreateRefreshToken(ctx context.Context, token string, s auth.Session) error
	// UseRefreshToken returns the live session of token and records its
	// use at now.
	UseRefreshToken(ctx context.Context, token string, now time.Time) (*auth.Session, error)
	// RevokeRefreshToken ends the live session id.
	RevokeRefreshToken(ctx context.Context, id string, now time.Time) error
}

// Sessions confirms, at each refresh, that a session's account is still
// admitted by the backend it came from; *authn.Chain is one.
type Sessions interface {
	CanConfirm(source, stamp string) bool
	Confirm(ctx context.Context, source, account, stamp string) (authn.Result, auth.Labels, error)
}

// Audit records the token server's decisions: logins, failed logins and
// tokens granting less than was asked; audit.Log is one. Its methods are
// called on the request's goroutine and must return at once. They are
// handed names, addresses and scopes, never a credential.
type Audit interface {
	Login(ctx context.Context, l Login)
	Denied(ctx context.Context, d Denial)
}

// Login is one login attempt with credentials, or a refused session (a
// refresh token unknown, revoked or ended; a session's successful refresh
// is no login). Reason says why one failed ("wrong credentials", "rate
// limited", "session ended: …").
type Login struct {
	Account, Source string
	IP              netip.Addr
	OK              bool
	Reason          string
}

// Denial is a token request one of whose scopes was granted fewer actions
// than asked (perhaps none).
type Denial struct {
	Account, Source, Service string
	IP                       netip.Addr
	Asked, Granted           []auth.Access
}

// Config wires a Server.
type Config struct {
	// Service, when set, is the only service tokens are issued for; a
	// request naming another is refused, so a token can never carry an
	// audience the registry does not expect.
	Service string
	Issuer  token.Issuing
	Authn   authn.Authenticator
	Authz   authz.Authorizer
	// Limiter limits failed logins and refresh tokens (default
	// authn.NewLimiter's).
	Limiter *authn.Limiter
	// AnonymousLimiter limits token requests without credentials per
	// client address (default authn.NewRequestLimiter's: 100 at once, then
	// 20 a second). Each asks the authorizers about every scope, perhaps
	// by starting a program, and nothing else would slow one client down.
	AnonymousLimiter *authn.RequestLimiter
	// AnonymousScopes caps the scopes of a request without credentials
	// (default DefaultAnonymousScopes); others may ask MaxScopes.
	AnonymousScopes int
	// Refresh stores refresh tokens; nil disables offline tokens.
	Refresh RefreshStore
	// Sessions confirms a refresh token's account at every use; nil
	// confirms none (every session gets UnconfirmedTTL).
	Sessions Sessions
	// RefreshTTL is how long a refresh token lives when its account is
	// confirmed at every use (default 90 days).
	RefreshTTL time.Duration
	// UnconfirmedTTL is how long a refresh token lives when its backend
	// cannot confirm the account without a password (ext_auth,
	// webhook_auth, LDAP with initial_bind_as_user, an ID-token login):
	// default 24 hours.
	UnconfirmedTTL time.Duration
	// ClientIP returns the client's address (for ACL ip rules and rate
	// limits); default edge.ClientIP: behind a trusted reverse proxy the
	// one it forwarded for, else the connection's peer.
	ClientIP func(r *http.Request) netip.Addr
	// Audit, when set, records logins and denials.
	Audit Audit
	// BasicRealm is the realm of the Basic challenge sent on failed logins.
	BasicRealm string
	// Count, when set, is told how each token request ended: one of the
	// Outcome values (the metrics). It must not block.
	Count func(outcome string)
	Log   *slog.Logger
	Now   func() time.Time
}

// How a token request ended, as Config.Count is told.
const (
	OutcomeIssued = "issued"
	// OutcomeScopeDenied: a token was issued, without some action asked.
	OutcomeScopeDenied  = "scope_denied"
	OutcomeLoginFailed  = "login_failed"
	OutcomeRateLimited  = "rate_limited"
	OutcomeBusy         = "busy"
	OutcomeBackendError = "backend_error"
	OutcomeInvalid      = "invalid_request"
)

// count tells Config.Count how a request ended.
func (s *Server) count(outcome string) {
	if s.cfg.Count != nil {
		s.cfg.Count(outcome)
	}
}

// MaxScopes is how many scopes one token request may ask for.
const MaxScopes = 64

// DefaultAnonymousScopes is how many scopes a token request without
// credentials may ask for by default: docker asks for one or two (a
// cross-repository mount), so 8 leaves room while an anonymous request can
// no longer make the authorizers answer 64 questions.
const DefaultAnonymousScopes = 8

// Server answers token requests.
type Server struct {
	cfg Config
	// anonRefused counts anonymous requests refused by the rate limit
	// since the last log line about them (at most one a minute).
	anonRefused atomic.Int64
	anonLog     gate.Throttle
}

// New returns a token server.
func New(cfg Config) (*Server, error) {
	if cfg.Issuer == nil || cfg.Authn == nil || cfg.Authz == nil || cfg.Log == nil {
		return nil, errors.New("tokenserver: issuer, authenticator, authorizer and log are required")
	}
	if cfg.Limiter == nil {
		cfg.Limiter = authn.NewLimiter(authn.LimiterOptions{})
	}
	if cfg.AnonymousLimiter == nil {
		cfg.AnonymousLimiter = authn.NewRequestLimiter(authn.RequestLimiterOptions{What: "anonymous token requests"})
	}
	if cfg.AnonymousScopes <= 0 {
		cfg.AnonymousScopes = DefaultAnonymousScopes
	}
	if cfg.AnonymousScopes > MaxScopes {
		return nil, fmt.Errorf("tokenserver: the anonymous scope cap %d is above %d, the cap of every request", cfg.AnonymousScopes, MaxScopes)
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.UnconfirmedTTL <= 0 {
		cfg.UnconfirmedTTL = DefaultUnconfirmedTTL
	}
	cfg.UnconfirmedTTL = min(cfg.UnconfirmedTTL, cfg.RefreshTTL)
	if cfg.ClientIP == nil {
		cfg.ClientIP = edge.ClientIP
	}
	if cfg.BasicRealm == "" {
		cfg.BasicRealm = "wharf"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Log = cfg.Log.With("component", "tokenserver")
	return &Server{cfg: cfg, anonLog: gate.Throttle{Every: time.Minute}}, nil
}

// Session lifetimes by default.
const (
	DefaultRefreshTTL     = 90 * 24 * time.Hour
	DefaultUnconfirmedTTL = 24 * time.Hour
)

// maxForm bounds a POST body: a form with a password and a few scopes.
const maxForm = 64 << 10

// ServeHTTP answers GET and POST on /auth and /auth/token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet:
		s.get(w, r)
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		s.post(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		s.fail(w, errcode.Unsupported, "use GET or POST")
	}
}

// request is a token request in either form.
type request struct {
	service  string
	scopes   []auth.Access
	offline  bool
	clientID string
	ip       netip.Addr
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, ok := s.parseCommon(w, r, q.Get("service"), q["scope"], q.Get("client_id"))
	if !ok {
		return
	}
	req.offline = q.Get("offline_token") == "true"
	id, ok := s.login(w, r, req)
	if !ok {
		return
	}
	if account := q.Get("account"); account != "" && !id.Anonymous() && account != id.Account {
		s.fail(w, errcode.TokenBadCredentials, "the account parameter does not match the credentials")
		return
	}
	s.issue(w, r, id, req, false)
}

func (s *Server) parseCommon(w http.ResponseWriter, r *http.Request, service string, scopes []string, clientID string) (request, bool) {
	req := request{service: service, clientID: clientID, ip: s.cfg.ClientIP(r)}
	if req.service == "" {
		req.service = s.cfg.Service
	}
	if s.cfg.Service != "" && req.service != s.cfg.Service {
		s.fail(w, errcode.TokenRequestInvalid, "this token server issues tokens for service "+strconv.Quote(s.cfg.Service)+", not "+strconv.Quote(req.service))
		return req, false
	}
	if req.service == "" {
		s.fail(w, errcode.TokenRequestInvalid, "the service parameter is required")
		return req, false
	}
	var err error
	if req.scopes, err = auth.ParseScopes(scopes); err != nil {
		s.fail(w, errcode.TokenRequestInvalid, err.Error())
		return req, false
	}
	if len(req.scopes) > MaxScopes {
		s.fail(w, errcode.TokenRequestInvalid, fmt.Sprintf("too many scopes in one request (%d; at most %d)", len(req.scopes), MaxScopes))
		return req, false
	}
	return req, true
}

// login authenticates Basic credentials; no credentials is the anonymous
// account. On failure it has already answered.
func (s *Server) login(w http.ResponseWriter, r *http.Request, req request) (auth.Identity, bool) {
	user, pass, hasBasic := r.BasicAuth()
	if !hasBasic {
		if r.Header.Get("Authorization") != "" {
			s.fail(w, errcode.TokenBadCredentials, "only Basic credentials are accepted here")
			return auth.Identity{}, false
		}
		return auth.Identity{}, s.admitAnonymous(w, r, req)
	}
	return s.authenticate(w, r, user, auth.Secret(pass), req.ip)
}

// admitAnonymous bounds what a client without credentials can make the
// server do: a token bucket per address, and fewer scopes per request.
func (s *Server) admitAnonymous(w http.ResponseWriter, r *http.Request, req request) bool {
	if err := s.cfg.AnonymousLimiter.Take(req.ip); err != nil {
		if n := s.anonRefused.Add(1); s.anonLog.Allow(s.cfg.Now()) {
			s.anonRefused.Add(-n)
			s.cfg.Log.WarnContext(r.Context(), "anonymous token requests rate-limited (429; logged at most once a minute)",
				"ip", req.ip, "refused", n, "fix", "a client behind a proxy? list the proxy in trusted_proxies; else raise limits.anonymous_token_rate")
		}
		s.refuse(w, r, err, authentication)
		return false
	}
	if len(req.scopes) > s.cfg.AnonymousScopes {
		s.fail(w, errcode.TokenRequestInvalid, fmt.Sprintf(
			"a token request without credentials may ask for at most %d scopes, and this one asks for %d; log in (docker login) to ask for up to %d",
			s.cfg.AnonymousScopes, len(req.scopes), MaxScopes))
		return false
	}
	return true
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, user string, pass auth.Secret, ip netip.Addr) (auth.Identity, bool) {
	ctx := r.Context()
	res, labels, err := s.cfg.Limiter.Login(ctx, s.cfg.Authn, user, pass, ip)
	switch {
	case errors.Is(err, authn.ErrRateLimited):
		s.cfg.Log.WarnContext(ctx, "login rate-limited", "account", user, "ip", ip, "err", err)
		s.audit(ctx, Login{Account: user, IP: ip, Reason: "rate limited"})
		s.refuse(w, r, err, authentication)
		return auth.Identity{}, false
	case err != nil:
		// No decision: neither a grant nor the client's fault (it does not
		// count against the rate limit). 503 tells the client to retry;
		// the reason, which may name the backend, stays in the log.
		s.refuse(w, r, err, authentication, "account", user, "ip", ip)
		return auth.Identity{}, false
	case res != authn.Accepted && user == "":
		s.challenge(w, r, "a user name is required")
		return auth.Identity{}, false
	case res != authn.Accepted:
		s.cfg.Log.InfoContext(ctx, "login failed", "account", user, "ip", ip, "result", res.String())
		s.audit(ctx, Login{Account: user, IP: ip, Reason: "wrong credentials"})
		s.challenge(w, r, "incorrect username or password")
		return auth.Identity{}, false
	}
	s.audit(ctx, Login{Account: user, Source: labels.Source(), IP: ip, OK: true})
	return auth.Identity{Account: user, Labels: labels}, true
}

func (s *Server) audit(ctx context.Context, l Login) {
	if s.cfg.Audit != nil {
		s.cfg.Audit.Login(ctx, l)
	}
}

// The chains whose failures refuse names.
const (
	authentication = "authentication"
	authorization  = "authorization"
)

// refuse answers an error that decided nothing: a rate limit (429), a full
// gate (503; the gate logs), a client that went away, or a failure of the
// chain named by backend (503; the error goes to the log with attrs, never
// to the client). Each 429 and 503 has a Retry-After.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error, backend string, attrs ...any) {
	var limited *authn.LimitedError
	var busy *gate.BusyError
	switch {
	case errors.As(err, &limited):
		s.count(OutcomeRateLimited)
		errcode.WriteToken(w, &errcode.Error{Code: errcode.TooManyRequests, Message: "too many " + limited.What + "; retry later",
			RetryAfter: limited.RetryAfterSeconds()})
	case errors.As(err, &busy):
		s.count(OutcomeBusy)
		errcode.WriteToken(w, &errcode.Error{Code: errcode.Unavailable, Message: "the server is busy (" + busy.What + "); retry in a moment",
			RetryAfter: busy.RetryAfterSeconds()})
	case r.Context().Err() != nil:
		// The client is gone; nobody reads an answer.
	default:
		s.count(OutcomeBackendError)
		refused := "token refused"
		if backend == authentication {
			refused = "login refused"
		}
		s.cfg.Log.ErrorContext(r.Context(), backend+" backend failed; "+refused, append(attrs, "err", err)...)
		errcode.WriteToken(w, &errcode.Error{Code: errcode.Unavailable,
			Message: "the " + backend + " backend is unavailable; retry later (the server log has the details)", RetryAfter: 5})
	}
}

// issue authorizes every requested scope and answers with a signed token.
// Denied scopes stay in the token with no actions, as the protocol says.
func (s *Server) issue(w http.ResponseWriter, r *http.Request, id auth.Identity, req request, oauth bool) {
	ctx := r.Context()
	// The credential's stamp is for the session alone: no authorizer sees
	// it, no token carries it.
	id.Labels = authn.CloneLabels(id.Labels)
	stamp := authn.TakeStamp(id.Labels)
	granted := make([]auth.Access, 0, len(req.scopes))
	denied := false
	for _, sc := range req.scopes {
		actions, err := s.cfg.Authz.Authorize(ctx, auth.Request{Identity: id, Service: req.service, IP: req.ip, Access: sc})
		if err != nil && !errors.Is(err, authz.ErrNoMatch) {
			s.refuse(w, r, err, authorization, "account", id.Account, "scope", sc.String())
			return
		}
		g := sc
		g.Actions = intersect(sc.Actions, actions)
		granted = append(granted, g)
		denied = denied || len(g.Actions) < len(sc.Actions)
		s.cfg.Log.InfoContext(ctx, "token scope", "account", id.Account, "ip", req.ip, "requested", sc.String(), "granted", g.Actions)
	}
	if denied && s.cfg.Audit != nil {
		s.cfg.Audit.Denied(ctx, Denial{Account: id.Account, Source: id.Labels.Source(), Service: req.service, IP: req.ip,
			Asked: req.scopes, Granted: granted})
	}
	tok, err := s.cfg.Issuer.IssueFor(ctx, token.Subject{Account: id.Account, Source: id.Labels.Source(), TokenID: tokenID(id.Labels)},
		req.service, granted)
	if err != nil {
		s.cfg.Log.ErrorContext(ctx, "signing a token failed", "err", err)
		s.fail(w, errcode.Unknown, "signing the token failed; the server log has the details")
		return
	}
	resp := tokenResponse{
		Token: tok.Raw, AccessToken: tok.Raw,
		ExpiresIn: int(tok.ExpiresIn / time.Second), IssuedAt: tok.IssuedAt.UTC().Format(time.RFC3339),
	}
	if oauth {
		resp.Token = "" // the OAuth2 form answers access_token only
		resp.Scope = scopeString(granted)
	}
	if req.offline && !id.Anonymous() && s.cfg.Refresh != nil {
		rt, err := s.newRefreshToken(ctx, id, stamp, req)
		if err != nil {
			s.cfg.Log.ErrorContext(ctx, "storing a refresh token failed", "err", err)
			s.fail(w, errcode.Unknown, "storing the refresh token failed; the server log has the details")
			return
		}
		resp.RefreshToken = rt
	}
	if denied {
		s.count(OutcomeScopeDenied)
	} else {
		s.count(OutcomeIssued)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

type tokenResponse struct {
	Token        string `json:"token,omitempty"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func intersect(asked, allowed []string) []string {
	out := []string{}
	for _, a := range asked {
		for _, b := range allowed {
			if a == b || b == "*" {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

func scopeString(granted []auth.Access) string {
	parts := make([]string, 0, len(granted))
	for _, g := range granted {
		if len(g.Actions) > 0 {
			parts = append(parts, g.String())
		}
	}
	return strings.Join(parts, " ")
}

// challenge answers a failed login: 401 with a Basic challenge, so that
// `docker login` reports the wrong password instead of retrying.
func (s *Server) challenge(w http.ResponseWriter, r *http.Request, msg string) {
	s.count(OutcomeLoginFailed)
	errcode.WriteToken(w, &errcode.Error{Code: errcode.Unauthorized, Message: msg,
		Challenges: []string{`Basic realm=` + strconv.Quote(s.cfg.BasicRealm)}})
}

// fail answers code with msg in the token server's format (the registry's
// errors array, which docker and containerd print, plus the OAuth2 fields
// for OAuth2 clients).
func (s *Server) fail(w http.ResponseWriter, code errcode.Code, msg string) {
	switch code {
	case errcode.Unknown:
		s.count(OutcomeBackendError)
	case errcode.Unauthorized, errcode.TokenBadCredentials:
		s.count(OutcomeLoginFailed)
	default:
		s.count(OutcomeInvalid)
	}
	errcode.WriteToken(w, errcode.New(code, msg))
}
