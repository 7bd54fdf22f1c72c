package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/dbusers"
	"wharf/internal/auth/authn/static"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/dbacl"
	"wharf/internal/config"
	"wharf/internal/identity"
	"wharf/internal/metadata"
)

// OpenMetadata opens the metadata database cfg names: the one `wharf
// serve` uses, and the one `wharf user|team|acl|token` change while it
// runs (SQLite in WAL mode with a busy timeout lets several processes
// share the file).
func OpenMetadata(ctx context.Context, cfg config.Config, log *slog.Logger) (*metadata.Store, error) {
	return openMetadata(ctx, cfg, log)
}

// identityBackends are the database's users and ACL, joined to the token
// server's chains.
type identityBackends struct {
	live  *identity.Live
	users *dbusers.Authenticator
	acl   *dbacl.ACL
}

// setupIdentity returns the database backends. static are the users of
// the configuration (and the bootstrap admin): their hashes set the cost
// of the dummy comparison, and a database user of the same name, which
// could never log in, is reported.
func setupIdentity(ctx context.Context, meta *metadata.Store, static map[string]static.User, log *slog.Logger) (*identityBackends, error) {
	var hashes [][]byte
	for _, u := range static {
		if u.Password != "" {
			hashes = append(hashes, []byte(u.Password.Reveal()))
		}
	}
	live := identity.NewLive(meta, identity.LiveOptions{ExtraHashes: hashes, Log: log})
	snap, err := live.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: users and ACL rules in the database: %w", err)
	}
	names := make([]string, 0, len(static))
	for name := range static {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, ok := snap.Account(name); ok {
			log.Warn("a database user has the name of a configured user, who is asked first: the database user cannot log in; remove or rename one", "account", name)
		}
	}
	return &identityBackends{live: live, users: dbusers.New(live), acl: dbacl.New(live)}, nil
}

// chains returns the token server's authenticator and authorizer: the
// configured users first, then the database users (behind the login cache,
// which is purged whenever the database's identity changes); the
// configured ACL first, then the database's, both under the guard that
// applies the database's current view of an identity and a token's scopes.
//
// The bare chain is returned too: it confirms sessions (refresh tokens)
// with the backend each came from, which no cache may answer for.
func (b *identityBackends) chains(st authn.Authenticator, external []authn.Authenticator, acl authz.Authorizer, externalAuthz authz.Chain, log *slog.Logger) (authn.Authenticator, authz.Authorizer, *authn.Chain) {
	chain := authn.NewChain(log, append([]authn.Authenticator{st, b.users}, external...)...)
	authenticator := dbusers.NewFresh(b.live, authn.NewCache(chain, authn.CacheOptions{}))
	return authenticator, dbacl.NewGuard(append(authz.Chain{acl, b.acl}, externalAuthz...), b.live, log), chain
}

// AccessCheck is what `wharf acl check` needs to decide a request as the
// token server would.
type AccessCheck struct {
	Live   *identity.Live
	Layers []dbacl.Layer
	// Static are the configured users' labels, by name.
	Static map[string]auth.Labels
}

// NewAccessCheck builds the configured layers of the chain as
// setupTokenServer does for cfg.
func NewAccessCheck(cfg config.Config, meta *metadata.Store, log *slog.Logger) (*AccessCheck, error) {
	allInOne := cfg.Role == config.RoleAllInOne
	acl, err := loadACL(cfg.ACL, allInOne, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	c := &AccessCheck{
		Live:   identity.NewLive(meta, identity.LiveOptions{Log: log}),
		Layers: []dbacl.Layer{{Name: configLayerName(cfg), ACL: acl}},
		Static: map[string]auth.Labels{},
	}
	for name, u := range cfg.Users {
		c.Static[name] = u.Labels
	}
	if _, ok := c.Static["admin"]; allInOne && !ok {
		c.Static["admin"] = nil
	}
	return c, nil
}

func configLayerName(cfg config.Config) string {
	if !cfg.ACL.Given && cfg.Role == config.RoleAllInOne {
		return "built-in default"
	}
	return "configuration"
}

// ConfiguredUsers returns the names of the accounts the configuration
// defines (with admin in `wharf serve`), which database users must not
// shadow.
func ConfiguredUsers(cfg config.Config) map[string]bool {
	out := map[string]bool{}
	for name := range cfg.Users {
		out[name] = true
	}
	if cfg.Role == config.RoleAllInOne {
		out["admin"] = true
	}
	return out
}

// ConfigDefines reports whether the configuration's users: define name
// (a configured admin replaces the built-in one).
func ConfigDefines(cfg config.Config, name string) bool {
	_, ok := cfg.Users[name]
	return ok
}

// IdentityOptions are the options of the identity operations for cfg: the
// names of the configured accounts (and, in `wharf serve`, the built-in
// admin) are reserved, since those backends are asked before the
// database. The CLI and the admin API use the same ones.
func IdentityOptions(cfg config.Config) identity.Options {
	reserved := ConfiguredUsers(cfg)
	return identity.Options{Reserved: func(name string) (string, bool) {
		if !reserved[name] {
			return "", false
		}
		if name == "admin" && cfg.Role == config.RoleAllInOne {
			return "the configuration (or the built-in administrator)", true
		}
		return "the configuration's users", true
	}}
}

// pinIdentity gives each request one snapshot of the database's identity
// (identity.Live.Pin): its login and every scope it asks for are decided on
// one view, for one read of the generation.
func pinIdentity(live *identity.Live, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(live.Pin(r.Context())))
	})
}
