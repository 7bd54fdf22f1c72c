package tokenserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
	"wharf/internal/metadata"
)

// RefreshStore keeps refresh tokens (stored hashed); metadata.Store is one.
type RefreshStore interface {
	CreateRefreshToken(ctx context.Context, token string, rt metadata.RefreshToken) error
	UseRefreshToken(ctx context.Context, token string, now time.Time) (*metadata.RefreshToken, error)
	RevokeRefreshToken(ctx context.Context, id string, now time.Time) (*metadata.RefreshToken, error)
}

// Sessions confirms, at each refresh, that a session's account is still
// admitted by the backend it came from; *authn.Chain is one.
type Sessions interface {
	CanConfirm(source, stamp string) bool
	Confirm(ctx context.Context, source, account, stamp string) (authn.Result, auth.Labels, error)
}

// Config wires a Server.
type Config struct {
	// Service, when set, is the only service tokens are issued for; a
	// request naming another is refused, so a token can never carry an
	// audience the registry does not expect.
	Service string
	Issuer  *token.Issuer
	Authn   authn.Authenticator
	Authz   authz.Authorizer
	Limiter *authn.Limiter
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
	// limits); default: the connection's remote address.
	ClientIP func(r *http.Request) netip.Addr
	// BasicRealm is the realm of the Basic challenge sent on failed logins.
	BasicRealm string
	Log        *slog.Logger
	Now        func() time.Time
}

// Server answers token requests.
type Server struct{ cfg Config }

// New returns a token server.
func New(cfg Config) (*Server, error) {
	if cfg.Issuer == nil || cfg.Authn == nil || cfg.Authz == nil || cfg.Log == nil {
		return nil, errors.New("tokenserver: issuer, authenticator, authorizer and log are required")
	}
	if cfg.Limiter == nil {
		cfg.Limiter = authn.NewLimiter(authn.LimiterOptions{})
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.UnconfirmedTTL <= 0 {
		cfg.UnconfirmedTTL = DefaultUnconfirmedTTL
	}
	cfg.UnconfirmedTTL = min(cfg.UnconfirmedTTL, cfg.RefreshTTL)
	if cfg.ClientIP == nil {
		cfg.ClientIP = RemoteIP
	}
	if cfg.BasicRealm == "" {
		cfg.BasicRealm = "wharf"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Log = cfg.Log.With("component", "tokenserver")
	return &Server{cfg: cfg}, nil
}

// Session lifetimes by default.
const (
	DefaultRefreshTTL     = 90 * 24 * time.Hour
	DefaultUnconfirmedTTL = 24 * time.Hour
)

// RemoteIP is the address of the connection's peer.
func RemoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

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
		s.fail(w, r, http.StatusMethodNotAllowed, "UNSUPPORTED", "use GET or POST")
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
	id, ok := s.login(w, r, req.ip)
	if !ok {
		return
	}
	if account := q.Get("account"); account != "" && !id.Anonymous() && account != id.Account {
		s.fail(w, r, http.StatusBadRequest, "UNAUTHORIZED", "the account parameter does not match the credentials")
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
		s.fail(w, r, http.StatusBadRequest, "UNSUPPORTED", "this token server issues tokens for service "+strconv.Quote(s.cfg.Service)+", not "+strconv.Quote(req.service))
		return req, false
	}
	if req.service == "" {
		s.fail(w, r, http.StatusBadRequest, "UNSUPPORTED", "the service parameter is required")
		return req, false
	}
	var err error
	if req.scopes, err = auth.ParseScopes(scopes); err != nil {
		s.fail(w, r, http.StatusBadRequest, "UNSUPPORTED", err.Error())
		return req, false
	}
	if len(req.scopes) > 64 {
		s.fail(w, r, http.StatusBadRequest, "UNSUPPORTED", "too many scopes in one request")
		return req, false
	}
	return req, true
}

// login authenticates Basic credentials; no credentials is the anonymous
// account. On failure it has already answered.
func (s *Server) login(w http.ResponseWriter, r *http.Request, ip netip.Addr) (auth.Identity, bool) {
	user, pass, hasBasic := r.BasicAuth()
	if !hasBasic {
		if r.Header.Get("Authorization") != "" {
			s.fail(w, r, http.StatusBadRequest, "UNAUTHORIZED", "only Basic credentials are accepted here")
			return auth.Identity{}, false
		}
		return auth.Identity{}, true
	}
	return s.authenticate(w, r, user, auth.Secret(pass), ip)
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, user string, pass auth.Secret, ip netip.Addr) (auth.Identity, bool) {
	ctx := r.Context()
	if ok, wait := s.cfg.Limiter.Allow(user, ip); !ok {
		s.cfg.Log.WarnContext(ctx, "login rate-limited", "account", user, "ip", ip, "retry_after", wait)
		secs := int(wait.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		s.fail(w, r, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many failed logins; retry later")
		return auth.Identity{}, false
	}
	if user == "" {
		s.cfg.Limiter.Failed(user, ip)
		s.challenge(w, r, "a user name is required")
		return auth.Identity{}, false
	}
	res, labels, err := s.cfg.Authn.Authenticate(ctx, user, pass)
	if err != nil {
		// No decision: neither a grant nor the client's fault (it does not
		// count against the rate limit). 503 tells the client to retry;
		// the reason, which may name the backend, stays in the log.
		s.cfg.Log.ErrorContext(ctx, "authentication backend failed; login refused", "account", user, "ip", ip, "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "UNAVAILABLE", "the authentication backend is unavailable; retry later (the server log has the details)")
		return auth.Identity{}, false
	}
	if res != authn.Accepted {
		s.cfg.Limiter.Failed(user, ip)
		s.cfg.Log.InfoContext(ctx, "login failed", "account", user, "ip", ip, "result", res.String())
		s.challenge(w, r, "incorrect username or password")
		return auth.Identity{}, false
	}
	s.cfg.Limiter.Succeeded(user, ip)
	return auth.Identity{Account: user, Labels: labels}, true
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
	for _, sc := range req.scopes {
		actions, err := s.cfg.Authz.Authorize(ctx, auth.Request{Identity: id, Service: req.service, IP: req.ip, Access: sc})
		if err != nil && !errors.Is(err, authz.ErrNoMatch) {
			s.cfg.Log.ErrorContext(ctx, "authorization backend failed; token refused", "account", id.Account, "scope", sc.String(), "err", err)
			s.fail(w, r, http.StatusServiceUnavailable, "UNAVAILABLE", "the authorization backend is unavailable; retry later (the server log has the details)")
			return
		}
		g := sc
		g.Actions = intersect(sc.Actions, actions)
		granted = append(granted, g)
		s.cfg.Log.InfoContext(ctx, "token scope", "account", id.Account, "ip", req.ip, "requested", sc.String(), "granted", g.Actions)
	}
	tok, err := s.cfg.Issuer.IssueFor(ctx, token.Subject{Account: id.Account, Source: id.Labels.Source(), TokenID: tokenID(id.Labels)},
		req.service, granted)
	if err != nil {
		s.cfg.Log.ErrorContext(ctx, "signing a token failed", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "UNKNOWN", "signing the token failed; the server log has the details")
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
			s.fail(w, r, http.StatusInternalServerError, "UNKNOWN", "storing the refresh token failed; the server log has the details")
			return
		}
		resp.RefreshToken = rt
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
	w.Header().Set("WWW-Authenticate", `Basic realm=`+strconv.Quote(s.cfg.BasicRealm))
	s.fail(w, r, http.StatusUnauthorized, "UNAUTHORIZED", msg)
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// fail writes an error in the registry's error format, which docker and
// containerd print, plus the OAuth2 fields for OAuth2 clients.
func (s *Server) fail(w http.ResponseWriter, _ *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	oauthErr := "invalid_request"
	switch status {
	case http.StatusUnauthorized:
		oauthErr = "invalid_grant"
	case http.StatusInternalServerError:
		oauthErr = "server_error"
	case http.StatusServiceUnavailable:
		oauthErr = "temporarily_unavailable"
	}
	_ = json.NewEncoder(w).Encode(struct {
		Errors      []errorEntry `json:"errors"`
		Details     string       `json:"details"`
		Error       string       `json:"error"`
		Description string       `json:"error_description"`
	}{[]errorEntry{{code, msg}}, msg, oauthErr, msg})
}
