package resolve

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the messages of this build")

// TestGoldenErrors pins the messages an operator reads for a few broken
// setups: go test ./internal/config/resolve -run Golden -update rewrites
// them after a deliberate change, and the diff shows what readers will see.
func TestGoldenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		role  string
		file  string // written as the configuration file, if any
		env   []string
		flags map[string]string
	}{
		{name: "acl-and-users", role: config.RoleAllInOne, file: `users:
  alice:
    pasword: "$2y$05$LO.vzwpWC5LZGqThvEfznu8qhb5SGqvBSWY1J3yZ4AxtMRZ3kN5jC"
  bob:
    password: "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="
acl:
  - match: {acount: alice, name: "alice/*"}
    actions: [pull, push]
  - match: {name: "${acount}/*"}
    actions: [pull]
  - match: {name: "/[/"}
    action: [pull]
`},
		{name: "acl-patterns", role: config.RoleAllInOne, file: `acl:
  - match: {account: admin}
    actions: ["*"]
  - match: {name: "${acount}/*"}
    actions: [pull]
  - match: {account: "/[a-z/", ip: 10.0.0.0/33}
    actions: [pull]
`},
		{name: "unknown-keys", role: config.RoleAllInOne, file: `adr: ":5000"
Data: /srv/wharf
log:
  levle: debug
token:
  expiration: 5 minutes
database:
  driver: postgres
  dsn_fle: /run/secrets/dsn
`},
		{name: "environment-and-flags", role: config.RoleAllInOne,
			env:   []string{"WHARF_TLS=acme", "WHARF_DATABASE_DRIVER=postgres", "WHARF_TRUSTED_PROXIES=10.0.0.0/8,10.0.0.300"},
			flags: map[string]string{"log-level": "loud", "auth": "ldap"}},
		{name: "registry-without-trust", role: config.RoleRegistry, file: `version: 0.1
storage:
  filesystem:
    rootdirectory: /srv/registry
auth:
  token:
    realm: https://auth.example.com/auth
    service: registry
    issuer: Auth Service
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := Input{Role: tc.role, Environ: tc.env, Flags: map[string]string{}}
			for k, v := range tc.flags {
				in.Flags[k] = v
			}
			dir := t.TempDir()
			if tc.file != "" {
				p := filepath.Join(dir, "wharf.yml")
				if tc.role == config.RoleRegistry {
					p = filepath.Join(dir, "config.yml")
				}
				if err := os.WriteFile(p, []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
				in.Flags["config"] = p
			}
			_, err := Config(in)
			if err == nil {
				t.Fatal("resolved a broken setup")
			}
			got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "") + "\n"
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("message differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
