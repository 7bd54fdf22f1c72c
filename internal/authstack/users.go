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

// configuredUsers is the users: of the configuration and, in `wharf
// serve`, the built-in admin, created on first start. The admin joins the
// configured users in one backend, so that every login costs exactly one
// bcrypt comparison: with two backends an unknown user would cost two and
// could be told apart. The database users come next and compare an
// unknown user's password with a dummy hash; this backend skips its own.
func configuredUsers(_ context.Context, b *builder) (Backend, io.Closer, error) {
	users := maps.Clone(map[string]static.User(b.cfg.Users))
	if users == nil {
		users = map[string]static.User{}
	}
	if b.cfg.Role == config.RoleAllInOne {
		path, err := adminuser.Bootstrap(b.dir, adminuser.BootstrapOptions{Terminal: b.opts.Console, Log: b.log})
		if err != nil {
			return Backend{}, nil, err
		}
		if _, defined := users[adminuser.Name]; defined {
			b.log.Info("the configuration defines admin; its password is used instead of the built-in admin's")
		} else {
			hash, err := adminuser.Read(path)
			if err != nil {
				return Backend{}, nil, err
			}
			users[adminuser.Name], b.adminFile = static.User{Password: auth.Secret(hash)}, path
		}
	}
	st, err := static.NewWithOptions(users, static.Options{SkipDummy: true})
	if err != nil {
		return Backend{}, nil, fmt.Errorf("config: users: %w", err)
	}
	b.users, b.static = users, st
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

// database is the database's users and access tokens, and its rules. The
// configured users' hashes set the cost of the dummy comparison, and a
// database user named as a configured one, who could never log in, is
// reported. `wharf user passwd admin` rewrites the built-in admin's file
// and moves the identity generation: the next request reads it again.
func database(ctx context.Context, b *builder) (Backend, io.Closer, error) {
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
	if b.adminFile != "" {
		st, path, log := b.static, b.adminFile, b.log
		live.OnChange(func() { reloadAdmin(st, path, log) })
	}
	b.live, b.databaseRules = live, len(snap.Rules())
	return Backend{Authn: accounts.NewAuthenticator(live), Authz: accounts.NewACL(live)}, nil, nil
}

// reloadAdmin reads the built-in admin's hash file again and, when the
// password changed, uses the new one from the next login on.
func reloadAdmin(st *static.Authenticator, path string, log *slog.Logger) {
	hash, err := adminuser.Read(path)
	if err != nil {
		log.Error("reading the admin account's file failed; its previous password stays in use", "err", err)
		return
	}
	changed, err := st.SetPassword(adminuser.Name, auth.Secret(hash))
	switch {
	case err != nil:
		log.Error("the admin account's file holds an unusable hash; its previous password stays in use", "file", path, "err", err)
	case changed:
		log.Info("the admin password changed; the new one is in use", "file", path)
	}
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

// configuredLabels are the configured accounts' labels by name, with
// `wharf serve`'s built-in admin (no labels) unless users: defines admin.
func configuredLabels(cfg config.Config) map[string]auth.Labels {
	out := make(map[string]auth.Labels, len(cfg.Users)+1)
	for name, u := range cfg.Users {
		out[name] = u.Labels
	}
	if _, ok := out[adminuser.Name]; cfg.Role == config.RoleAllInOne && !ok {
		out[adminuser.Name] = nil
	}
	return out
}
