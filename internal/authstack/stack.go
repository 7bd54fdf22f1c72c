package authstack

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/static"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/signin"
	"wharf/internal/auth/tokenserver"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/gate"
	"wharf/internal/metadata"
)

// Options are what Build needs besides the configuration.
type Options struct {
	// Meta is the metadata database: its users, teams, rules and tokens
	// are the database backends', its generation the login cache's.
	Meta *metadata.Store
	Log  *slog.Logger
	// Console, when set, is shown the built-in admin's generated first
	// password (a terminal someone watches; never a log collector).
	Console io.Writer
	// CountTokens, when set, is told how each token request ended
	// (tokenserver's Outcome values): the metrics.
	CountTokens func(outcome string)
	// Audit, when set, records the token server's logins and denials;
	// Changed the changes the server makes to the account database itself
	// (the built-in admin's creation), as the actor "wharf" from "serve".
	Audit   tokenserver.Audit
	Changed func(context.Context, accounts.Change)
	// UISession, when set, opens a web interface session for a browser
	// sign-in started from the interface (signin.LoginConfig.UISession).
	UISession func(http.ResponseWriter, *http.Request, signin.UISignIn)
}

// Route is a page mounted beside the token endpoint (a browser sign-in's).
type Route struct {
	Pattern string
	Handler http.Handler
}

// Backend is what one constructor adds to the chains: an authenticator,
// an authorizer or both, and a browser sign-in's pages.
type Backend struct {
	Authn  authn.Authenticator
	Authz  authz.Authorizer
	Routes []Route
}

// constructor builds one backend from its section of the configuration.
// An absent section gives a zero Backend and a nil closer. On error it
// closes what it opened itself; the stack closes what those before it
// opened.
type constructor struct {
	name  string
	build func(ctx context.Context, b *builder) (Backend, io.Closer, error)
}

// backends are the constructors in the order the chains ask them, which
// is docker_auth's: the configured users, the database's users (with
// wharf serve's built-in admin), the browser sign-ins, LDAP, MongoDB and SQL users,
// ext_auth and webhook_auth; the configured ACL (or the built-in default),
// the database's rules, MongoDB and SQL rules, ext_authz and
// webhook_authz. The first definite answer wins; an error denies.
var backends = []constructor{
	{"users", configuredUsers},
	{"acl", configuredACL},
	{"database", database},
	{"google_auth", googleAuth},
	{"github_auth", githubAuth},
	{"oidc_auth", oidcAuth},
	{"gitlab_auth", gitlabAuth},
	{"sign-in page", signInIndex},
	{"ldap_auth", ldapAuth},
	{"mongo_auth", mongoAuth},
	{"acl_mongo", aclMongo},
	{"xorm_auth", xormAuth},
	{"acl_xorm", aclXorm},
	{"ext_auth", extAuth},
	{"webhook_auth", webhookAuth},
	{"ext_authz", extAuthz},
	{"webhook_authz", webhookAuthz},
}

// builder is what the constructors share: the configuration, and what an
// earlier constructor made for a later one.
type builder struct {
	cfg  config.Config
	dir  datadir.Dir
	opts Options
	log  *slog.Logger
	pool *gate.Gate // external programs and webhooks

	users map[string]static.User // configured users
	acl   *authz.ACL
	live  *accounts.Live
	// databaseRules is how many rules the database held at start.
	databaseRules int
	signIns       signin.Store    // in the metadata database, from the first sign-in
	choices       []signin.Choice // the sign-in page's buttons

	// built is what the constructors so far added.
	built chains
}

// chains are the backends in the order they are asked.
type chains struct {
	authn  []authn.Authenticator
	authz  authz.Chain
	routes []Route
}

// assemble runs table in order, collecting the chains and what each
// backend opened. When a constructor fails, what the ones before it
// opened is closed, last first, and nothing is returned.
func assemble(ctx context.Context, b *builder, table []constructor) (chains, closerStack, error) {
	var closers closerStack
	for _, c := range table {
		be, closer, err := c.build(ctx, b)
		if err != nil {
			_ = closers.Close()
			return chains{}, nil, err
		}
		closers.push(closer)
		if be.Authn != nil {
			b.built.authn = append(b.built.authn, be.Authn)
		}
		if be.Authz != nil {
			b.built.authz = append(b.built.authz, be.Authz)
		}
		b.built.routes = append(b.built.routes, be.Routes...)
	}
	return b.built, closers, nil
}

// Stack is the token server's authentication and authorization, built
// from a resolved configuration, with what holds their connections.
type Stack struct {
	// Authn checks logins: the chain behind the login cache, which the
	// database's identity generation purges (accounts.Fresh).
	Authn authn.Authenticator
	// Authz decides scopes: the chain under the guard that applies the
	// database's current view of an identity and a token's scopes.
	Authz authz.Authorizer
	// Sessions is the bare chain, which confirms a session (refresh
	// token) with the backend it came from: no cache may answer for it.
	Sessions *authn.Chain
	// Limiter limits failed logins per account and address, for the token
	// endpoint and the admin API alike.
	Limiter *authn.Limiter
	// Anonymous limits token requests without credentials per address
	// (limits.anonymous_token_rate, anonymous_token_burst).
	Anonymous *authn.RequestLimiter
	// Live is the database's users, teams and rules, read once per
	// generation.
	Live *accounts.Live
	// Layers are the configured ACL's, as explanations name it (the
	// database's rules follow them).
	Layers []accounts.Layer
	// Configured are the labels of the configured accounts, by name.
	Configured map[string]auth.Labels
	// Routes are the browser sign-in pages; SignIns their start pages,
	// one per provider, for the web interface's sign-in page.
	Routes  []Route
	SignIns []signin.Choice

	closers closerStack
}

// Build builds the chains of cfg, in the order of backends. The databases
// and directories the backends use must answer now (docker_auth does not
// start either when they do not). In `wharf serve` it also creates the
// built-in admin in the account database on first start. The caller must Close the stack.
func Build(ctx context.Context, cfg config.Config, opts Options) (*Stack, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	limits := cfg.Limits.WithDefaults()
	b := &builder{cfg: cfg, dir: datadir.New(cfg.Data), opts: opts, log: opts.Log, pool: externalPool(limits, opts.Log)}
	built, closers, err := assemble(ctx, b, backends)
	if err != nil {
		return nil, err
	}
	logAccessRules(b)
	chain := authn.NewChain(b.log, built.authn...)
	return &Stack{
		Authn:    accounts.NewFresh(b.live, authn.NewCache(chain, authn.CacheOptions{})),
		Authz:    accounts.NewGuard(built.authz, b.live, b.log),
		Sessions: chain,
		Limiter:  authn.NewLimiter(authn.LimiterOptions{}),
		Anonymous: authn.NewRequestLimiter(authn.RequestLimiterOptions{What: "anonymous token requests",
			Rate: authn.Rate{Burst: limits.AnonymousTokenBurst, Every: limits.AnonymousTokenEvery()}}),
		Live:       b.live,
		Layers:     []accounts.Layer{{Name: configLayerName(cfg), ACL: b.acl}},
		Configured: configuredLabels(cfg),
		Routes:     built.routes,
		SignIns:    b.choices,
		closers:    closers,
	}, nil
}

// Pin gives each request to next one snapshot of the database's
// identities (accounts.Live.Pin): its login and every scope it asks for
// are decided on one view, for one read of the generation.
func (s *Stack) Pin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(s.Live.Pin(r.Context())))
	})
}

// Close closes the backends' connections and stores, last opened first.
func (s *Stack) Close() error { return s.closers.Close() }
