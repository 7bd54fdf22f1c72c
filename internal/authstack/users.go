package authstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"

	"wharf/internal/accounts"
	"wharf/internal/adminuser"
	"wharf/internal/auth"
	"wharf/internal/auth/authn/static"
	"wharf/internal/auth/authz"
	"wharf/internal/config"
)

// configuredUsers is the users: of the configuration. wharf serve's
// built-in admin is a database account (database, below). The database
// users come next and compare an unknown user's password with a dummy
// hash, so this backend skips its own: every login costs exactly one
// bcrypt comparison, and an unknown user cannot be told apart.
func configuredUsers(_ context.Context, b *builder) (Backend, io.Closer, error) {
	users := maps.Clone(map[string]static.User(b.cfg.Users))
	if users == nil {
		users = map[string]static.User{}
	}
	st, err := static.NewWithOptions(users, static.Options{SkipDummy: true})
	if err != nil {
		return Backend{}, nil, fmt.Errorf("config: users: %w", err)
	}
	b.users = users
	return Backend{Authn: st}, nil, nil
}

// configuredACL is the acl: of the configuration.
func configuredACL(_ context.Context, b *builder) (Backend, io.Closer, error) {
	acl, err := loadACL(b.cfg.ACL, b.cfg.Role == config.RoleAllInOne, b.log)
	if err != nil {
		return Backend{}, nil, err
	}
	b.acl = acl
	return Backend{Authz: acl}, nil, nil
}

// database is the database's users and access tokens, and its rules. In
// wharf serve it first makes sure the built-in admin is there (created on
// first start, or moved from the file of earlier releases). The
// configured users' hashes set the cost of the dummy comparison, and a
// database user named as a configured one, who could never log in, is
// reported.
func database(ctx context.Context, b *builder) (Backend, io.Closer, error) {
	if err := bootstrapAdmin(ctx, b); err != nil {
		return Backend{}, nil, err
	}
	var hashes [][]byte
	for _, u := range b.users {
		if u.Password != "" {
			hashes = append(hashes, []byte(u.Password.Reveal()))
		}
	}
	live := accounts.NewLive(b.opts.Meta, accounts.LiveOptions{ExtraHashes: hashes, Log: b.log})
	snap, err := live.Snapshot(ctx)
	if err != nil {
		return Backend{}, nil, fmt.Errorf("authstack: users and ACL rules in the database: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(b.users)) {
		if _, ok := snap.Account(name); ok {
			b.log.Warn("a database user has the name of a configured user, who is asked first: the database user cannot log in; remove or rename one", "account", name)
		}
	}
	b.live, b.databaseRules = live, len(snap.Rules())
	return Backend{Authn: accounts.NewAuthenticator(live), Authz: accounts.NewACL(live)}, nil, nil
}

// bootstrapAdmin creates wharf serve's built-in admin in the account
// database unless the configuration's users: defines admin, which is
// asked first and wins.
func bootstrapAdmin(ctx context.Context, b *builder) error {
	if b.cfg.Role != config.RoleAllInOne {
		return nil
	}
	if _, defined := b.cfg.Users[adminuser.Name]; defined {
		b.log.Info("the configuration defines admin; the built-in admin account is not created")
		return nil
	}
	opts, err := AccountOptions(b.cfg)
	if err != nil {
		return err
	}
	opts.Changed = b.opts.Changed
	ctx = accounts.WithActor(ctx, accounts.Actor{Name: "wharf", Source: "serve"})
	return adminuser.Bootstrap(ctx, accounts.NewService(b.opts.Meta, opts), b.dir,
		adminuser.BootstrapOptions{Password: b.cfg.AdminPassword, Terminal: b.opts.Console, Log: b.log})
}

// defaultACL is used when the configuration has no acl: the admin may do
// everything, everyone else nothing.
func defaultACL() []authz.Rule {
	admin := adminuser.Name
	return []authz.Rule{{Match: authz.Match{Account: &admin}, Actions: []string{"*"}, Comment: "default: admin has full access"}}
}

// loadACL compiles the configured ACL. Without one, `wharf serve` lets only
// admin in; `wharf auth`, like docker_auth, denies everything.
func loadACL(c config.ACL, allInOne bool, log *slog.Logger) (*authz.ACL, error) {
	var rules []authz.Rule
	switch {
	case c.Given:
		rules = c.Rules
	case allInOne:
		rules = defaultACL()
	}
	// Which rules are in force is logged once every source is known
	// (logAccessRules): the database's rules count too.
	acl, err := authz.New(rules)
	if err != nil {
		return nil, fmt.Errorf("config: acl: %w", err)
	}
	for _, w := range authz.Lint(rules) {
		log.Warn("acl: " + w.String())
	}
	return acl, nil
}

// configLayerName is how explanations name the configured ACL.
func configLayerName(cfg config.Config) string {
	if !cfg.ACL.Given && cfg.Role == config.RoleAllInOne {
		return "built-in default"
	}
	return "configuration"
}

// configuredLabels are the configured accounts' labels by name.
func configuredLabels(cfg config.Config) map[string]auth.Labels {
	out := make(map[string]auth.Labels, len(cfg.Users))
	for name, u := range cfg.Users {
		out[name] = u.Labels
	}
	return out
}
