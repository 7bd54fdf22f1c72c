package authstack

import (
	"fmt"
	"strings"

	"wharf/internal/config"
)

// logAccessRules says at start which rules decide access and where they
// come from: the configuration's acl (or wharf serve's built-in default),
// the database's rules and the external sources. Saying "no acl
// configured" while the database holds rules sent operators looking for a
// problem that was not there.
func logAccessRules(b *builder) {
	cfg := b.cfg
	configured := fmt.Sprintf("%d rule(s)", len(cfg.ACL.Rules))
	switch {
	case !cfg.ACL.Given && cfg.Role == config.RoleAllInOne:
		configured = "none: the built-in default, admin has full access"
	case !cfg.ACL.Given:
		configured = "none"
	}
	var external []string
	for _, s := range []struct {
		name string
		set  bool
	}{{"acl_mongo", cfg.ACLMongo != nil}, {"acl_xorm", cfg.ACLXorm != nil}, {"ext_authz", cfg.ExtAuthz != nil}, {"webhook_authz", cfg.WebhookAuthz != nil}} {
		if s.set {
			external = append(external, s.name)
		}
	}
	attrs := []any{"configuration", configured, "database", b.databaseRules, "external", strings.Join(external, ", ")}
	if len(external) == 0 {
		attrs[len(attrs)-1] = "none"
	}
	switch {
	case !cfg.ACL.Given && cfg.Role != config.RoleAllInOne && b.databaseRules == 0 && len(external) == 0:
		b.log.Warn("access rules: none configured, none in the database and no external source: every request is denied", attrs...)
	case !cfg.ACL.Given && cfg.Role == config.RoleAllInOne && b.databaseRules == 0 && len(external) == 0:
		b.log.Info("access rules: none configured and none in the database: only admin has access", attrs...)
	default:
		b.log.Info("access rules, asked in this order", attrs...)
	}
}
