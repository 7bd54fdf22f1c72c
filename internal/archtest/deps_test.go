package archtest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkgInfo struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) map[string]pkgInfo {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "wharf/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkgInfo{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

func TestDependencyRules(t *testing.T) {
	pkgs := listPackages(t)
	rules := []struct {
		pkg string
		// forbidden import paths (transitive) and forbidden prefixes (direct)
		notDeps    []string
		onlyDirect []string // when set, direct imports must have one of these prefixes or be standard library
	}{
		{pkg: "wharf/internal/registry", notDeps: []string{"net/http", "wharf/internal/ociapi", "wharf/internal/server"}},
		{pkg: "wharf/internal/metadata", notDeps: []string{"net/http", "wharf/internal/storage", "wharf/internal/registry"}},
		{pkg: "wharf/internal/storage", onlyDirect: []string{"github.com/opencontainers/go-digest"}},
		{pkg: "wharf/internal/storage/filesystem", notDeps: []string{"net/http", "wharf/internal/metadata"}},
		// config is the schema of wharf.yml. It embeds the users and ACL
		// rules of the engines that own their grammar (static, authz), which
		// never import it; it knows no HTTP, no database and none of the
		// readers and commands above it.
		{pkg: "wharf/internal/config", onlyDirect: []string{"gopkg.in/yaml.v3", "wharf/internal/keyhint", "wharf/internal/auth/authz", "wharf/internal/auth/authn/static"},
			notDeps: []string{"net/http", "wharf/internal/metadata", "wharf/internal/identity", "wharf/internal/compat", "wharf/internal/auth/authz/dbacl"}},
		// resolve merges defaults, files, environment and flags for every
		// command: above config and the foreign readers, below the CLI, and
		// free of any command-line library.
		{pkg: "wharf/internal/config/resolve", onlyDirect: []string{"wharf/internal/config", "wharf/internal/compat/distribution", "wharf/internal/compat/dockerauth"},
			notDeps: []string{"net/http", "wharf/internal/server", "wharf/internal/cli", "github.com/spf13/cobra", "github.com/spf13/pflag"}},
		// The closest-key hint every strict reader gives is a leaf.
		{pkg: "wharf/internal/keyhint", onlyDirect: []string{}},
		{pkg: "wharf/internal/ociapi", notDeps: []string{"wharf/internal/server", "wharf/internal/cli"}},
		{pkg: "wharf/internal/atomicfile", onlyDirect: []string{}},
		// The one error table is a leaf every HTTP package uses; the edge
		// (client address, request id, access log) sits in front of the
		// APIs and knows none of them.
		{pkg: "wharf/internal/errcode", onlyDirect: []string{}},
		{pkg: "wharf/internal/edge", onlyDirect: []string{"wharf/internal/errcode", "wharf/internal/config"},
			notDeps: []string{"wharf/internal/ociapi", "wharf/internal/auth/tokenserver", "wharf/internal/adminapi",
				"wharf/internal/auth/oauthlogin", "wharf/internal/auth/oidc", "wharf/internal/server", "wharf/internal/cli",
				"wharf/internal/registry", "wharf/internal/metadata"}},
		// The built-in admin's files: no HTTP, no server.
		{pkg: "wharf/internal/adminuser", onlyDirect: []string{"wharf/internal/atomicfile", "wharf/internal/auth", "wharf/internal/identity", "wharf/internal/datadir"},
			notDeps: []string{"net/http", "wharf/internal/server"}},
		// The data directory's layout, modes and lock are a leaf every
		// package may ask; certs names the files of tls/.
		{pkg: "wharf/internal/datadir", onlyDirect: []string{"wharf/internal/certs"},
			notDeps: []string{"net/http", "wharf/internal/config", "wharf/internal/server", "wharf/internal/cli"}},
		// The auth stack is built below the commands and the server, which
		// share it; it knows the registry API, the server and the
		// commands not.
		{pkg: "wharf/internal/authstack", notDeps: []string{"wharf/internal/server", "wharf/internal/cli", "wharf/internal/doctor",
			"wharf/internal/ociapi", "wharf/internal/registry", "wharf/internal/servertls"}},
		// The listeners' TLS: configuration, certificates, the data
		// directory and ACME, nothing of the server's.
		{pkg: "wharf/internal/servertls", onlyDirect: []string{"wharf/internal/config", "wharf/internal/certs", "wharf/internal/datadir", "golang.org/x/crypto/acme"},
			notDeps: []string{"wharf/internal/server", "wharf/internal/cli", "wharf/internal/metadata", "wharf/internal/authstack"}},
		// The doctor checks a setup as the server would read it, through
		// the same builders, never through the server itself.
		{pkg: "wharf/internal/doctor", notDeps: []string{"wharf/internal/server", "wharf/internal/cli"}},
		{pkg: "wharf/internal/certs", onlyDirect: []string{"wharf/internal/auth/token", "wharf/internal/atomicfile"}, notDeps: []string{"net/http"}},
		{pkg: "wharf/internal/compat/distribution", onlyDirect: []string{"wharf/internal/config", "wharf/internal/compat", "wharf/internal/keyhint", "gopkg.in/yaml.v3"}},
		{pkg: "wharf/internal/compat/dockerauth", onlyDirect: []string{"wharf/internal/config", "wharf/internal/compat", "wharf/internal/keyhint", "gopkg.in/yaml.v3"}},
		{pkg: "wharf/internal/auth", onlyDirect: []string{}},
		// The token, ACL and authenticator engines know no HTTP, storage or
		// each other: the token server and the composition root join them.
		{pkg: "wharf/internal/auth/token", onlyDirect: []string{"wharf/internal/auth", "github.com/go-jose/"}, notDeps: []string{"net/http"}},
		{pkg: "wharf/internal/auth/authz", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/keyhint", "gopkg.in/yaml.v3"},
			notDeps: []string{"net/http", "wharf/internal/config"}},
		{pkg: "wharf/internal/auth/authn", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/gate", "golang.org/x/crypto/"}, notDeps: []string{"net/http"}},
		// The bound on concurrent work (bcrypt, external calls) is a leaf
		// any package may use.
		{pkg: "wharf/internal/gate", onlyDirect: []string{"golang.org/x/sync/"}, notDeps: []string{"net/http"}},
		{pkg: "wharf/internal/auth/authn/static", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/keyhint", "gopkg.in/yaml.v3"},
			notDeps: []string{"net/http", "wharf/internal/auth/authz", "wharf/internal/config"}},
		{pkg: "wharf/internal/auth/authn/htpasswd", onlyDirect: []string{"wharf/internal/auth"}, notDeps: []string{"net/http", "wharf/internal/auth/authz"}},
		// go-ldap links net/http through its NTLM bind; the backend itself
		// imports no HTTP package of its own or of wharf's.
		{pkg: "wharf/internal/auth/authn/ldap", onlyDirect: []string{"wharf/internal/auth", "github.com/go-ldap/ldap/", "github.com/go-asn1-ber/"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authz", "wharf/internal/auth/tokenserver", "wharf/internal/ociapi"}},
		// The database's users, teams, rules and tokens: identity holds the
		// operations and the live snapshot, the two backends read it.
		{pkg: "wharf/internal/identity", onlyDirect: []string{"wharf/internal/metadata", "wharf/internal/auth", "golang.org/x/crypto/"},
			notDeps: []string{"net/http", "wharf/internal/server", "wharf/internal/registry"}},
		{pkg: "wharf/internal/auth/authn/dbusers", onlyDirect: []string{"wharf/internal/auth/authn", "wharf/internal/auth", "wharf/internal/identity"},
			notDeps: []string{"net/http"}},
		{pkg: "wharf/internal/auth/authz/dbacl", onlyDirect: []string{"wharf/internal/auth/authz", "wharf/internal/auth", "wharf/internal/identity"},
			notDeps: []string{"net/http", "wharf/internal/auth/authn/dbusers"}},
		// The admin API: HTTP over the identity operations, with logins
		// checked by the chains the composition root hands in.
		{pkg: "wharf/internal/adminapi", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/identity", "wharf/internal/metadata", "wharf/internal/gate",
			"wharf/internal/edge", "wharf/internal/errcode"},
			notDeps: []string{"wharf/internal/server", "wharf/internal/cli", "wharf/internal/ociapi", "wharf/internal/registry", "wharf/internal/storage"}},
		// External programs: the runner knows no protocol; ext_auth and
		// ext_authz give its answers meaning. The webhook client is the one
		// auth backend that speaks HTTP, and only as a client.
		{pkg: "wharf/internal/auth/extcmd", onlyDirect: []string{}, notDeps: []string{"net/http"}},
		{pkg: "wharf/internal/auth/authn/extauth", onlyDirect: []string{"wharf/internal/auth"}, notDeps: []string{"net/http", "wharf/internal/auth/authz"}},
		{pkg: "wharf/internal/auth/authz/extauthz", onlyDirect: []string{"wharf/internal/auth"}, notDeps: []string{"net/http", "wharf/internal/auth/authn"}},
		{pkg: "wharf/internal/auth/webhook", onlyDirect: []string{"wharf/internal/auth"},
			notDeps: []string{"wharf/internal/auth/tokenserver", "wharf/internal/server"}},
		// The browser sign-ins speak HTTP (to providers and browsers) but
		// know neither the configuration nor the token server or the ACL.
		{pkg: "wharf/internal/auth/oauthlogin", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/errcode", "golang.org/x/oauth2", "modernc.org/sqlite"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authz", "wharf/internal/auth/tokenserver", "wharf/internal/ociapi"}},
		{pkg: "wharf/internal/auth/oidc", onlyDirect: []string{"wharf/internal/auth", "golang.org/x/oauth2", "github.com/coreos/go-oidc/"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authz", "wharf/internal/auth/tokenserver", "wharf/internal/ociapi"}},
		// docker_auth's database backends: a connection package per kind of
		// database, a user store and a rule store on top of each, and the
		// reloading ACL the rule stores share. None reads config (the
		// composition root translates the sections) or knows HTTP.
		{pkg: "wharf/internal/auth/mongodb", onlyDirect: []string{"wharf/internal/auth", "go.mongodb.org/mongo-driver/v2/"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authn", "wharf/internal/auth/authz"}},
		{pkg: "wharf/internal/auth/xormdb", onlyDirect: []string{"github.com/go-sql-driver/mysql", "github.com/jackc/pgx/v5", "modernc.org/sqlite"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authn", "wharf/internal/auth/authz", "net/http"}},
		{pkg: "wharf/internal/auth/authz/remoteacl", onlyDirect: []string{"wharf/internal/auth/authz", "wharf/internal/auth", "gopkg.in/yaml.v3"},
			notDeps: []string{"net/http", "wharf/internal/auth/authn", "wharf/internal/auth/mongodb", "wharf/internal/auth/xormdb"}},
		{pkg: "wharf/internal/auth/authn/mongoauth", onlyDirect: []string{"wharf/internal/auth", "go.mongodb.org/mongo-driver/v2/"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authz", "wharf/internal/auth/tokenserver"}},
		{pkg: "wharf/internal/auth/authz/mongoacl", onlyDirect: []string{"wharf/internal/auth/authz", "wharf/internal/auth/mongodb", "go.mongodb.org/mongo-driver/v2/"},
			notDeps: []string{"wharf/internal/auth/authn", "wharf/internal/auth/tokenserver"}},
		{pkg: "wharf/internal/auth/authn/xormauth", onlyDirect: []string{"wharf/internal/auth"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authz", "net/http"}},
		{pkg: "wharf/internal/auth/authz/xormacl", onlyDirect: []string{"wharf/internal/auth/authz", "wharf/internal/auth/xormdb"},
			notDeps: []string{"wharf/internal/auth/authn", "net/http"}},
	}
	// Test utilities (testserver, with zitadel's OpenID provider) never
	// reach the binary.
	for path, p := range pkgs {
		if strings.HasPrefix(path, "wharf/internal/testserver") {
			continue
		}
		for _, d := range p.Deps {
			if d == "wharf/internal/testserver" || strings.HasPrefix(d, "github.com/zitadel/") {
				t.Errorf("%s depends on %s, a test utility", path, d)
			}
		}
	}
	for _, r := range rules {
		p, ok := pkgs[r.pkg]
		if !ok {
			t.Errorf("package %s not found", r.pkg)
			continue
		}
		for _, d := range p.Deps {
			for _, bad := range r.notDeps {
				if d == bad {
					t.Errorf("%s depends on %s", r.pkg, bad)
				}
			}
		}
		if r.onlyDirect != nil {
			for _, imp := range p.Imports {
				if !strings.Contains(strings.Split(imp, "/")[0], ".") && !strings.HasPrefix(imp, "wharf/") {
					continue // standard library
				}
				allowed := false
				for _, pre := range r.onlyDirect {
					allowed = allowed || strings.HasPrefix(imp, pre)
				}
				if !allowed {
					t.Errorf("%s imports %s; only the standard library and %v are allowed", r.pkg, imp, r.onlyDirect)
				}
			}
		}
	}
	// ociapi must reach storage and metadata only through registry.
	for _, imp := range pkgs["wharf/internal/ociapi"].Imports {
		if strings.HasPrefix(imp, "wharf/internal/storage") || imp == "wharf/internal/metadata" {
			t.Errorf("ociapi imports %s directly; go through registry", imp)
		}
	}
}
