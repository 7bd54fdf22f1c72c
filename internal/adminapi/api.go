package adminapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/metadata"
	"wharf/internal/retention"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1/"

// Config wires an API. The authentication pieces are the token server's
// own, so that a login here is checked, cached and rate-limited exactly as
// a `docker login` is.
type Config struct {
	// Service performs every change; Live answers reads of the current
	// state and explanations.
	Service *accounts.Service
	Live    *accounts.Live
	// Verifier checks bearer tokens of this server's token endpoint.
	Verifier token.Verifying
	// Authn and Authz are the token server's chains; Limiter its limiter
	// of failed logins.
	Authn   authn.Authenticator
	Authz   authz.Authorizer
	Limiter *authn.Limiter
	// TokenService is the token service (audience) name; Realm the
	// token endpoint's URL for a request, for challenges.
	TokenService string
	Realm        func(r *http.Request) string
	BasicRealm   string
	// ClientIP returns the client's address; default edge.ClientIP (behind
	// a trusted proxy, the forwarded one).
	ClientIP func(r *http.Request) netip.Addr
	// Layers are the ACLs asked before the database's (the
	// configuration's), and Configured the configured accounts (asked
	// before the database's) with their labels, for explanations and to
	// tell a database account's bearer token from theirs.
	Layers     []accounts.Layer
	Configured map[string]auth.Labels
	Log        *slog.Logger
	Now        func() time.Time
	// Refused, when set, is told of every caller refused: failed is true
	// for wrong or rate-limited credentials, false for an account without
	// the admin scope (the audit log). Never a credential.
	Refused func(ctx context.Context, account string, ip netip.Addr, failed bool, reason string)
	// Meta holds read-only mode; ReadOnlyConfigured is the
	// configuration's read_only. Retention runs the retention policies
	// (nil where no registry is served).
	Meta               *metadata.Store
	ReadOnlyConfigured bool
	Retention          *retention.Runner
	// RepositoryChanged, when set, is told of every repository deleted
	// (quotas read its usage again).
	RepositoryChanged func(repo string)
	// GC runs garbage collections; nil on a server without a registry.
	GC *GC
	// TokenKeys lists and rotates the token-signing keys.
	TokenKeys *TokenKeys
	// Replication, when it answers non-nil, reports and runs the
	// replication rules (a func: the runner is built after the API).
	Replication func() *Replication
	// UpstreamCredentials are the pull-through cache's stored upstream
	// credentials; nil without proxy.upstreams.
	UpstreamCredentials *UpstreamCredentials
}

// API serves the admin API.
type API struct {
	cfg Config
	svc *accounts.Service
	log *slog.Logger
	mux *http.ServeMux
	// ruleMu makes an If-Match check and the rule change it guards one
	// step for the requests of this process.
	ruleMu sync.Mutex
}

// New returns the API.
func New(cfg Config) (*API, error) {
	if cfg.Service == nil || cfg.Live == nil || cfg.Verifier == nil || cfg.Authn == nil || cfg.Authz == nil ||
		cfg.Limiter == nil || cfg.Realm == nil || cfg.TokenService == "" {
		return nil, errors.New("adminapi: service, live, verifier, authn, authz, limiter, realm and token service are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = edge.ClientIP
	}
	if cfg.BasicRealm == "" {
		cfg.BasicRealm = "wharf"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{cfg: cfg, svc: cfg.Service, log: cfg.Log.With("component", "adminapi")}
	a.mux = a.newMux()
	return a, nil
}

// newMux routes every operation of routes, and answers everything else
// under the prefix with a JSON 404 (or 405), after the same
// authentication, so that the API's shape is not probed for free.
func (a *API) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.Handle(rt.Method+" "+Prefix+rt.Path, a.guard(rt.handle))
	}
	mux.Handle(Prefix, a.guard(func(w http.ResponseWriter, r *http.Request, _ caller) error {
		return a.noRoute(r)
	}))
	return mux
}

// Route is one operation: a method and a path pattern under Prefix (with
// {name} wildcards, as net/http and OpenAPI write them).
type Route struct {
	Method, Path string
	handle       handlerFunc
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c caller) error

// Routes lists the operations the API serves (their handlers stay
// unexported: serve them through an API).
func Routes() []Route {
	rts := (*API)(nil).routes() // method values only: no handler runs
	for i := range rts {
		rts[i].handle = nil
	}
	return rts
}

func (a *API) routes() []Route {
	return []Route{
		{"GET", "users", a.listUsers},
		{"POST", "users", a.addUser},
		{"GET", "users/{name}", a.getUser},
		{"PATCH", "users/{name}", a.patchUser},
		{"DELETE", "users/{name}", a.removeUser},
		{"PUT", "users/{name}/password", a.setPassword},
		{"GET", "teams", a.listTeams},
		{"POST", "teams", a.addTeam},
		{"GET", "teams/{name}", a.getTeam},
		{"DELETE", "teams/{name}", a.removeTeam},
		{"PUT", "teams/{name}/members/{user}", a.addMember},
		{"DELETE", "teams/{name}/members/{user}", a.removeMember},
		{"GET", "acl/rules", a.listRules},
		{"POST", "acl/rules", a.addRule},
		{"GET", "acl/rules/{id}", a.getRule},
		{"PATCH", "acl/rules/{id}", a.moveRule},
		{"DELETE", "acl/rules/{id}", a.removeRule},
		{"GET", "acl/check", a.check},
		{"GET", "tokens", a.listTokens},
		{"POST", "tokens", a.createToken},
		{"GET", "tokens/{id}", a.getToken},
		{"DELETE", "tokens/{id}", a.revokeToken},
		{"GET", "sessions", a.listSessions},
		{"DELETE", "sessions", a.revokeSessions},
		{"DELETE", "sessions/{id}", a.revokeSession},
		{"GET", "audit", a.listAudit},
		{"GET", "read-only", a.getReadOnly},
		{"PUT", "read-only", a.putReadOnly},
		{"POST", "retention", a.runRetention},
		{"GET", "repositories", a.listRepositories},
		{"GET", "repositories/{name}", a.getRepository},
		{"DELETE", "repositories/{name}", a.removeRepository},
		{"DELETE", "repositories/{name}/tags/{tag}", a.removeTag},
		{"GET", "gc", a.getGC},
		{"POST", "gc", a.startGC},
		{"GET", "token-keys", a.listTokenKeys},
		{"POST", "token-keys/rotate", a.rotateTokenKey},
		{"GET", "replication", a.getReplication},
		{"POST", "replication/{rule}/run", a.runReplication},
		{"GET", "upstream-credentials", a.listUpstreamCredentials},
		{"PUT", "upstream-credentials/{name}", a.setUpstreamCredential},
		{"DELETE", "upstream-credentials/{name}", a.removeUpstreamCredential},
	}
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// guard authenticates every request before its handler runs and turns the
// handler's error into the answer.
func (a *API) guard(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.authenticate(r, adminAPI)
		if err == nil {
			r = r.WithContext(accounts.WithActor(r.Context(), accounts.Actor{Name: c.account, Source: "adminapi",
				Addr: a.cfg.ClientIP(r).String()}))
			err = h(w, r, c)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}

// noRoute explains a request no route matches: 405 when the path exists
// with other methods, else 404.
func (a *API) noRoute(r *http.Request) error {
	var methods []string
	for _, rt := range a.routes() {
		if !slices.Contains(methods, rt.Method) {
			methods = append(methods, rt.Method)
		}
	}
	if allowed := edge.Allowed(a.mux, r, methods, Prefix); len(allowed) > 0 {
		return &errcode.Error{Code: errcode.AdminMethodNotAllowed,
			Message: r.Method + " is not allowed here; use " + strings.Join(allowed, ", ")}
	}
	if err := slashedRepository(r); err != nil {
		return err
	}
	return &errcode.Error{Code: errcode.AdminNotFound, Message: "no such endpoint: " + r.URL.Path + " (see docs/api/openapi.yaml)"}
}

// audit logs a change made through the API: who, what, on what. Never a
// password or a token.
func (a *API) audit(r *http.Request, c caller, action string, args ...any) {
	a.log.InfoContext(r.Context(), "admin API: "+action,
		append([]any{"by", c.account, "via", c.via, "ip", a.cfg.ClientIP(r)}, args...)...)
}

func quote(s string) string { return strconv.Quote(s) }
