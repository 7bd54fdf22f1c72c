package authstack

import (
	"context"
	"log/slog"

	"wharf/internal/accounts"
	"wharf/internal/adminuser"
	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// Explanation and Subject are the account database's answers, named here
// for the commands that render them.
type (
	Explanation = accounts.Explanation
	Subject     = accounts.Subject
)

// AccessCheck decides a request as the token server's configured and
// database rules would, and says which rule decided: `wharf acl check`,
// and the configuration's rules `wharf acl ls` shows before the
// database's.
type AccessCheck struct {
	// Live is the database's users, teams and rules.
	Live       *accounts.Live
	layers     []accounts.Layer
	configured map[string]auth.Labels
}

// NewAccessCheck builds the configured layers of the chain as Build does
// for cfg, over the database meta. It logs nothing of its own: the
// ACL's lint is the command's to print.
func NewAccessCheck(cfg config.Config, meta *metadata.Store, log *slog.Logger) (*AccessCheck, error) {
	acl, err := loadACL(cfg.ACL, cfg.Role == config.RoleAllInOne, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	return &AccessCheck{
		Live:       accounts.NewLive(meta, accounts.LiveOptions{Log: log}),
		layers:     []accounts.Layer{{Name: configLayerName(cfg), ACL: acl}},
		configured: configuredLabels(cfg),
	}, nil
}

// ConfigRules returns the configured ACL (or the built-in default) and
// how explanations name it; the database's rules are asked after it.
func (c *AccessCheck) ConfigRules() (layer string, rules []authz.Rule) {
	return c.layers[0].Name, c.layers[0].ACL.Rules()
}

// Identify says where account comes from and the labels it logs in with
// (accounts.Identify), with tokenID the access token it uses, if any.
func (c *AccessCheck) Identify(snap *accounts.Snapshot, account, tokenID string) Subject {
	return accounts.Identify(snap, c.configured, account, tokenID)
}

// Explain decides req and says how (accounts.Explain).
func (c *AccessCheck) Explain(ctx context.Context, req auth.Request) (Explanation, error) {
	return accounts.Explain(ctx, c.Live, c.layers, req)
}

// ConfiguredUsers returns the names of the accounts the configuration
// defines, which database users must not shadow.
func ConfiguredUsers(cfg config.Config) map[string]bool {
	out := map[string]bool{}
	for name := range cfg.Users {
		out[name] = true
	}
	return out
}

// AccountOptions are the options of the account operations for cfg, which
// the CLI and the admin API share: the configured accounts' names are
// reserved (their backend is asked before the database); the configured
// ACL (or the built-in default) and accounts let the operations decide as
// the token server would who may administer and what a new token is
// granted; in wharf serve, admin is the built-in administrator unless
// users: defines it, and a change of its password makes the generated
// first password's file stale.
func AccountOptions(cfg config.Config) (accounts.Options, error) {
	acl, err := loadACL(cfg.ACL, cfg.Role == config.RoleAllInOne, slog.New(slog.DiscardHandler))
	if err != nil {
		return accounts.Options{}, err
	}
	reserved := ConfiguredUsers(cfg)
	opts := accounts.Options{
		Reserved: func(name string) (string, bool) {
			return "the configuration's users", reserved[name]
		},
		Layers:       []accounts.Layer{{Name: configLayerName(cfg), ACL: acl}},
		Configured:   configuredLabels(cfg),
		TokenService: cfg.Token.Service,
	}
	if _, defined := cfg.Users[adminuser.Name]; cfg.Role == config.RoleAllInOne && !defined {
		dir := datadir.New(cfg.Data)
		opts.Builtin = adminuser.Name
		opts.PasswordChanged = func(name string) error {
			if name != adminuser.Name {
				return nil
			}
			return adminuser.PasswordChanged(dir)
		}
	}
	return opts, nil
}
