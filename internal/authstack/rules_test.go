package authstack

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"wharf/internal/auth/authz"
	"wharf/internal/config"
	"wharf/internal/metadata"
)

// TestStartLineCountsEveryRuleSource: the start-up line about access rules
// counts the database's rules with the configuration's. A second server on
// a database that holds rules used to log "no acl configured: only admin
// has access", which was false.
func TestStartLineCountsEveryRuleSource(t *testing.T) {
	t.Parallel()
	alice := "alice"
	tests := []struct {
		name          string
		role          string
		configRules   bool
		databaseRules int
		want, not     []string
	}{
		{"serve, no rules anywhere", config.RoleAllInOne, false, 0,
			[]string{"level=INFO", "only admin has access", "database=0"}, nil},
		{"serve, rules in the database", config.RoleAllInOne, false, 2,
			[]string{"level=INFO", "database=2", `configuration="none: the built-in default, admin has full access"`}, []string{"only admin has access"}},
		{"serve, configured and database rules", config.RoleAllInOne, true, 1,
			[]string{`configuration="1 rule(s)"`, "database=1"}, []string{"only admin", "built-in default"}},
		{"auth, no rules anywhere", config.RoleAuth, false, 0,
			[]string{"level=WARN", "every request is denied"}, nil},
		{"auth, rules in the database", config.RoleAuth, false, 3,
			[]string{"level=INFO", "database=3", "configuration=none"}, []string{"denied"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			meta := openTestMetadata(t)
			for range tc.databaseRules {
				if _, err := meta.AddACLRule(t.Context(), metadata.ACLRule{Account: &alice, Actions: []string{"pull"}}, 0); err != nil {
					t.Fatal(err)
				}
			}
			cfg := config.Default()
			cfg.Role, cfg.Data = tc.role, t.TempDir()
			if tc.configRules {
				cfg.ACL = config.ACL{Given: true, Rules: []authz.Rule{{Match: authz.Match{Account: &alice}, Actions: []string{"push"}}}}
			}
			var logs bytes.Buffer
			s, err := Build(t.Context(), cfg, Options{Meta: meta, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			var line string
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, "access rules") {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("no line about access rules:\n%s", logs.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("the line lacks %q: %s", w, line)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(line, w) {
					t.Errorf("the line says %q: %s", w, line)
				}
			}
			if strings.Contains(logs.String(), "no acl configured") {
				t.Errorf("the old line is still logged:\n%s", logs.String())
			}
		})
	}
}
