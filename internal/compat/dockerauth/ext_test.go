package dockerauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
)

// extAuthConfig is docker_auth's examples/ext_auth.yml shape: external
// programs instead of users and acl.
const extAuthConfig = `server:
  addr: ":5001"
  certificate: "/ssl/auth-server.crt"
  key: "/ssl/auth-server.key"
token:
  issuer: "Acme auth server"
  expiration: 900
ext_auth:
  command: "/usr/local/bin/my_auth"  # Can be a relative path too; $PATH works.
  args: ["--flag", "--more", "--flags"]
ext_authz:
  command: "/usr/local/bin/my_authz"
  args: ["--flag", "--more", "--flags"]
`

func TestLoadExtPrograms(t *testing.T) {
	t.Parallel()
	got, err := Load(writeConfig(t, extAuthConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantAuth := &config.ExtAuth{Command: "/usr/local/bin/my_auth", Args: []string{"--flag", "--more", "--flags"}}
	wantAuthz := &config.ExtAuthz{Command: "/usr/local/bin/my_authz", Args: []string{"--flag", "--more", "--flags"}}
	if diff := cmp.Diff(wantAuth, got.ExtAuth); diff != "" {
		t.Errorf("ext_auth (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAuthz, got.ExtAuthz); diff != "" {
		t.Errorf("ext_authz (-want +got):\n%s", diff)
	}
	if !isEmptyNode(got) {
		t.Errorf("users or acl set from a file without them")
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func isEmptyNode(c config.Config) bool { return c.Users == nil && !c.ACL.Given }

func TestLoadExtWharfKeys(t *testing.T) {
	t.Parallel()
	body := classicAuth + "ext_auth:\n  command: my_auth\n  timeout: 30s\n  env: [LDAP_URI]\next_authz:\n  command: my_authz\n  timeout: 5\n"
	got, err := Load(writeConfig(t, body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExtAuth == nil || got.ExtAuth.Timeout.Std() != 30*time.Second || !cmp.Equal(got.ExtAuth.Env, []string{"LDAP_URI"}) {
		t.Errorf("ext_auth: %+v", got.ExtAuth)
	}
	if got.ExtAuthz == nil || got.ExtAuthz.Timeout.Std() != 5*time.Second {
		t.Errorf("ext_authz: %+v", got.ExtAuthz)
	}
}

func TestLoadExtErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		is         error
		want       []string
	}{
		{"unknown key", classicAuth + "ext_auth:\n  command: x\n  arguments: [a]\n", ErrUnknownKey, []string{"line 25", "unknown key ext_auth.arguments"}},
		{"no command", classicAuth + "ext_authz:\n  args: [a]\n", nil, []string{"line 23", "ext_authz.command: required"}},
		{"args not a list", classicAuth + "ext_auth:\n  command: x\n  args: --flag\n", nil, []string{"line 25", "ext_auth.args: must be a list"}},
		{"nested arg", classicAuth + "ext_auth:\n  command: x\n  args: [[a]]\n", nil, []string{"ext_auth.args: every entry"}},
		{"bad timeout", classicAuth + "ext_auth:\n  command: x\n  timeout: soon\n", nil, []string{"line 25", "ext_auth.timeout"}},
		{"huge timeout", classicAuth + "ext_auth:\n  command: x\n  timeout: 2h\n", nil, []string{"ext_auth.timeout: must be between"}},
		{"not a mapping", classicAuth + "ext_auth: /bin/check\n", nil, []string{"line 23", "ext_auth: must be a mapping"}},
		{"users still needed without ext_auth", strings.Replace(extAuthConfig, "ext_auth:\n  command: \"/usr/local/bin/my_auth\"  # Can be a relative path too; $PATH works.\n  args: [\"--flag\", \"--more\", \"--flags\"]\n", "", 1),
			nil, []string{"users: required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, tc.body), nil)
			if err == nil {
				t.Fatalf("loaded; want an error mentioning %q", tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v:\n%v", tc.is, err)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, err)
				}
			}
		})
	}
}
