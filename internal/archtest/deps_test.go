package archtest

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
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

// rule is what one package, or every package below a path, may depend on.
// Paths are whole import paths, or a path ending in "/" for the packages
// below it: "wharf/internal/auth" is that package and none of its
// sub-packages, "github.com/go-jose/" every package below github.com/go-jose.
type rule struct {
	// pkg is the package the rule is about; ending in "/", every package
	// below that path.
	pkg string
	// notDeps are what the package may not depend on, directly or not.
	notDeps []string
	// onlyDirect, when set, are what the package may import besides the
	// standard library.
	onlyDirect []string
}

// matches reports whether imp is one of the entries (see rule).
func matches(imp string, entries []string) bool {
	for _, e := range entries {
		if imp == e || strings.HasSuffix(e, "/") && strings.HasPrefix(imp, e) {
			return true
		}
	}
	return false
}

// standard reports whether imp is a standard library package.
func standard(imp string) bool {
	return !strings.Contains(strings.Split(imp, "/")[0], ".") && !strings.HasPrefix(imp, "wharf/")
}

// violations lists how pkgs break rules.
func violations(pkgs map[string]pkgInfo, rules []rule) []string {
	var out []string
	for _, r := range rules {
		paths := []string{r.pkg}
		if strings.HasSuffix(r.pkg, "/") {
			paths = nil
			for path := range pkgs {
				if strings.HasPrefix(path, r.pkg) {
					paths = append(paths, path)
				}
			}
			slices.Sort(paths)
		}
		found := false
		for _, path := range paths {
			if p, ok := pkgs[path]; ok {
				found = true
				out = append(out, breaks(path, p, r)...)
			}
		}
		if !found {
			out = append(out, fmt.Sprintf("package %s not found", r.pkg))
		}
	}
	return out
}

// breaks lists how the package path, p, breaks r.
func breaks(path string, p pkgInfo, r rule) []string {
	var out []string
	for _, d := range p.Deps {
		if matches(d, r.notDeps) {
			out = append(out, fmt.Sprintf("%s depends on %s", path, d))
		}
	}
	if r.onlyDirect == nil {
		return out
	}
	for _, imp := range p.Imports {
		if !standard(imp) && !matches(imp, r.onlyDirect) {
			out = append(out, fmt.Sprintf("%s imports %s; only the standard library and %v are allowed", path, imp, r.onlyDirect))
		}
	}
	return out
}

// dependencyRules are the rules of docs/architecture.md.
func dependencyRules() []rule {
	return []rule{
		{pkg: "wharf/internal/registry", notDeps: []string{"net/http", "wharf/internal/ociapi", "wharf/internal/server"}},
		{pkg: "wharf/internal/metadata", notDeps: []string{"net/http", "wharf/internal/storage", "wharf/internal/registry"}},
		{pkg: "wharf/internal/storage", onlyDirect: []string{"github.com/opencontainers/go-digest"}},
		{pkg: "wharf/internal/events", onlyDirect: []string{"github.com/opencontainers/go-digest"}},
		// metrics is fed through interfaces its feeders own or it defines
		// (edge.Recorder, events.Sink, the token server's Count, GC): it
		// imports Prometheus's client and events, and nothing on the
		// request path imports it.
		{pkg: "wharf/internal/metrics", onlyDirect: []string{"github.com/prometheus/client_golang/", "wharf/internal/events", "wharf/internal/buildinfo"},
			notDeps: []string{"wharf/internal/server", "wharf/internal/ociapi", "wharf/internal/registry", "wharf/internal/storage", "wharf/internal/metadata"}},
		{pkg: "wharf/internal/edge", notDeps: []string{"wharf/internal/metrics"}},
		{pkg: "wharf/internal/buildinfo", onlyDirect: []string{}},
		// tracing is OpenTelemetry behind the edge's Recorder: the request
		// path knows it no more than it knows metrics. It encodes OTLP
		// itself (the message types, never the collector's gRPC service).
		{pkg: "wharf/internal/tracing", onlyDirect: []string{"go.opentelemetry.io/otel/", "go.opentelemetry.io/otel", "wharf/internal/edge", "wharf/internal/metrics",
			"go.opentelemetry.io/proto/otlp/common/v1", "go.opentelemetry.io/proto/otlp/resource/v1", "go.opentelemetry.io/proto/otlp/trace/v1",
			"google.golang.org/protobuf/proto"},
			notDeps: []string{"wharf/internal/server", "wharf/internal/ociapi", "wharf/internal/registry", "google.golang.org/grpc"}},
		{pkg: "wharf/internal/edge", notDeps: []string{"go.opentelemetry.io/otel/sdk/trace", "wharf/internal/tracing"}},
		{pkg: "wharf/internal/ociapi", notDeps: []string{"wharf/internal/metrics"}},
		{pkg: "wharf/internal/auth/", notDeps: []string{"wharf/internal/metrics"}},
		// The audit log is a sink and a pair of hooks over the metadata
		// database: it knows the registry, the server and the commands not.
		{pkg: "wharf/internal/audit", onlyDirect: []string{"wharf/internal/accounts", "wharf/internal/auth", "wharf/internal/auth/tokenserver",
			"wharf/internal/edge", "wharf/internal/events", "wharf/internal/gate", "wharf/internal/metadata"},
			notDeps: []string{"wharf/internal/server", "wharf/internal/cli", "wharf/internal/ociapi", "wharf/internal/registry",
				"wharf/internal/storage", "wharf/internal/config"}},
		// notify is a sink of events over the metadata queue: the
		// composition root translates notifications: for it. The OCI
		// descriptor type renders includereferences.
		{pkg: "wharf/internal/notify", onlyDirect: []string{"wharf/internal/events", "wharf/internal/metadata", "github.com/google/uuid",
			"github.com/opencontainers/image-spec/specs-go/v1"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/server", "wharf/internal/registry", "wharf/internal/ociapi"}},
		// The upstream client speaks to other registries through
		// go-containerregistry's handshake; it knows nothing of Wharf's
		// storage, metadata or configuration, so that the cache, and later
		// replication and wharf copy, share it.
		{pkg: "wharf/internal/upstream", onlyDirect: []string{"wharf/internal/auth", "github.com/google/go-containerregistry/pkg/authn",
			"github.com/google/go-containerregistry/pkg/name", "github.com/google/go-containerregistry/pkg/v1/remote/transport",
			"github.com/opencontainers/go-digest", "golang.org/x/sync/singleflight"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/metadata", "wharf/internal/storage", "wharf/internal/registry"}},
		// The stored upstream credentials are sealed rows of the metadata
		// database; the composition root hands the store its key path and
		// the upstreams' names.
		{pkg: "wharf/internal/upstreamcreds", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/metadata"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/server", "wharf/internal/proxy", "wharf/internal/upstream"}},
		// Copies between registries speak go-containerregistry's remote
		// package to both ends, this registry included (its own API, in
		// process); rules queue pushes in the metadata's notification
		// queue. The composition root hands them references and
		// credentials.
		{pkg: "wharf/internal/replicate", notDeps: []string{"wharf/internal/config", "wharf/internal/storage",
			"wharf/internal/registry", "wharf/internal/ociapi", "wharf/internal/server", "wharf/internal/cli"}},
		// The pull-through cache stores through the registry layer, as a
		// push does, and fetches through upstream; the composition root
		// hands it both.
		{pkg: "wharf/internal/proxy", onlyDirect: []string{"wharf/internal/registry", "wharf/internal/upstream", "wharf/internal/errcode",
			"github.com/opencontainers/go-digest"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/server", "wharf/internal/ociapi", "wharf/internal/cli"}},
		{pkg: "wharf/internal/storage/filesystem", notDeps: []string{"net/http", "wharf/internal/metadata"}},
		// The S3 driver is a storage.Driver over the AWS SDK: it knows
		// nothing of repositories, the metadata or the configuration.
		{pkg: "wharf/internal/storage/s3", onlyDirect: []string{"github.com/aws/", "github.com/opencontainers/go-digest", "wharf/internal/storage"},
			notDeps: []string{"wharf/internal/metadata", "wharf/internal/registry", "wharf/internal/config", "wharf/internal/server"}},
		// blobstore chooses the driver storage: names; nothing below the
		// commands and the composition root imports it.
		{pkg: "wharf/internal/blobstore", notDeps: []string{"wharf/internal/registry", "wharf/internal/server", "wharf/internal/cli", "wharf/internal/metadata"}},
		// config is the schema of wharf.yml. It embeds the users and ACL
		// rules of the engines that own their grammar (static, authz), which
		// never import it; it knows no HTTP, no database and none of the
		// readers and commands above it.
		{pkg: "wharf/internal/config", onlyDirect: []string{"gopkg.in/yaml.v3", "github.com/dustin/go-humanize", "wharf/internal/keyhint", "wharf/internal/auth/authz", "wharf/internal/auth/authn/static",
			"wharf/internal/auth", "wharf/internal/auth/password"},
			notDeps: []string{"net/http", "wharf/internal/metadata", "wharf/internal/accounts", "wharf/internal/compat"}},
		// resolve merges defaults, files, environment and flags for every
		// command: above config and the foreign readers, below the CLI, and
		// free of any command-line library. Its preflight reads the files
		// a server will read with their owners' parsers (certs, token) and
		// asks datadir whether the data directory can be written.
		{pkg: "wharf/internal/config/resolve", onlyDirect: []string{"wharf/internal/config", "wharf/internal/compat/distribution", "wharf/internal/compat/dockerauth",
			"wharf/internal/certs", "wharf/internal/auth/token", "wharf/internal/datadir"},
			notDeps: []string{"net/http", "wharf/internal/server", "wharf/internal/cli", "github.com/spf13/cobra", "github.com/spf13/pflag"}},
		// The closest-key hint every strict reader gives is a leaf.
		{pkg: "wharf/internal/keyhint", onlyDirect: []string{}},
		{pkg: "wharf/internal/yamlnode", onlyDirect: []string{"gopkg.in/yaml.v3", "wharf/internal/keyhint"}},
		{pkg: "wharf/internal/ociapi", notDeps: []string{"wharf/internal/server", "wharf/internal/cli"}},
		{pkg: "wharf/internal/atomicfile", onlyDirect: []string{}},
		// The one error table is a leaf every HTTP package uses; the edge
		// (client address, request id, access log) sits in front of the
		// APIs and knows none of them.
		{pkg: "wharf/internal/errcode", onlyDirect: []string{}},
		{pkg: "wharf/internal/edge", onlyDirect: []string{"wharf/internal/errcode"},
			notDeps: []string{"wharf/internal/ociapi", "wharf/internal/auth/tokenserver", "wharf/internal/adminapi",
				"wharf/internal/auth/signin", "wharf/internal/server", "wharf/internal/cli",
				"wharf/internal/registry", "wharf/internal/metadata"}},
		// The built-in admin's files: no HTTP, no server.
		{pkg: "wharf/internal/adminuser", onlyDirect: []string{"wharf/internal/atomicfile", "wharf/internal/auth", "wharf/internal/auth/password", "wharf/internal/auth/authn/htpasswd", "wharf/internal/accounts", "wharf/internal/datadir"},
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
		{pkg: "wharf/internal/servertls", onlyDirect: []string{"wharf/internal/config", "wharf/internal/certs", "wharf/internal/datadir", "golang.org/x/crypto/acme", "golang.org/x/crypto/acme/"},
			notDeps: []string{"wharf/internal/server", "wharf/internal/cli", "wharf/internal/metadata", "wharf/internal/authstack"}},
		// The doctor checks a setup as the server would read it, through
		// the same builders, never through the server itself.
		{pkg: "wharf/internal/doctor", notDeps: []string{"wharf/internal/server", "wharf/internal/cli"}},
		// Quotas are computed over metadata, handed their rules by the
		// composition root: no HTTP, no configuration, no registry.
		{pkg: "wharf/internal/quota", onlyDirect: []string{"wharf/internal/metadata", "github.com/dustin/go-humanize"},
			notDeps: []string{"net/http", "wharf/internal/config", "wharf/internal/registry", "wharf/internal/server"}},
		// An import writes through the registry layer it is handed, as a
		// push would: no HTTP, no settings, no server.
		// Retention decides over the metadata and deletes through it;
		// authstack translates its configuration.
		{pkg: "wharf/internal/retention", notDeps: []string{"net/http", "wharf/internal/config", "wharf/internal/registry",
			"wharf/internal/storage", "wharf/internal/server", "wharf/internal/cli", "wharf/internal/authstack"}},
		{pkg: "wharf/internal/importer", notDeps: []string{"net/http", "wharf/internal/config", "wharf/internal/server", "wharf/internal/cli", "wharf/internal/authstack"}},
		// Garbage collection works on the store and the blob driver it is
		// handed: no HTTP, no settings, no registry layer (its locking lives
		// in metadata), so that the server and wharf gc run the same code.
		{pkg: "wharf/internal/gc", notDeps: []string{"net/http", "wharf/internal/config", "wharf/internal/server", "wharf/internal/cli",
			"wharf/internal/registry", "wharf/internal/ociapi", "wharf/internal/adminapi"}},
		// fsck reads and repairs through metadata and the storage driver
		// it is handed: no HTTP, no settings, no server.
		{pkg: "wharf/internal/fsck", notDeps: []string{"net/http", "wharf/internal/config", "wharf/internal/server", "wharf/internal/cli", "wharf/internal/authstack"}},
		// migrate-storage copies through the storage interface, whichever
		// drivers its table names: no settings, metadata or server. (HTTP
		// comes in with the S3 driver of its table, which speaks it.)
		{pkg: "wharf/internal/storagecopy", notDeps: []string{"wharf/internal/config", "wharf/internal/metadata",
			"wharf/internal/server", "wharf/internal/cli", "wharf/internal/registry"}},
		// What a full disk's messages say: a leaf.
		{pkg: "wharf/internal/diskspace", onlyDirect: []string{"wharf/internal/progress"}},
		// The jobs' turns among replicas: the database's leases only.
		{pkg: "wharf/internal/lease", onlyDirect: []string{"wharf/internal/metadata"}},
		// The progress line is a leaf the long commands share.
		{pkg: "wharf/internal/progress", onlyDirect: []string{}},
		// The child spans of the store and the drivers: OpenTelemetry's
		// API only, never its SDK or an exporter (internal/tracing's).
		{pkg: "wharf/internal/spans", onlyDirect: []string{"go.opentelemetry.io/otel/trace", "go.opentelemetry.io/otel/attribute", "go.opentelemetry.io/otel/codes"}},
		{pkg: "wharf/internal/certs", onlyDirect: []string{"wharf/internal/auth/token", "wharf/internal/atomicfile"}, notDeps: []string{"net/http"}},
		{pkg: "wharf/internal/compat/distribution", onlyDirect: []string{"wharf/internal/config", "wharf/internal/compat", "wharf/internal/keyhint", "wharf/internal/yamlnode", "gopkg.in/yaml.v3"}},
		{pkg: "wharf/internal/compat/dockerauth", onlyDirect: []string{"wharf/internal/config", "wharf/internal/compat", "wharf/internal/keyhint", "wharf/internal/yamlnode", "gopkg.in/yaml.v3"}},
		{pkg: "wharf/internal/auth", onlyDirect: []string{}},
		// The token, ACL and authenticator engines know no HTTP, storage or
		// each other: the token server and the composition root join them.
		{pkg: "wharf/internal/auth/token", onlyDirect: []string{"wharf/internal/auth", "github.com/go-jose/"},
			notDeps: []string{"net/http", "wharf/internal/auth/authn", "wharf/internal/auth/authz"}},
		{pkg: "wharf/internal/auth/authz", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/keyhint", "wharf/internal/yamlnode", "gopkg.in/yaml.v3"},
			notDeps: []string{"net/http", "wharf/internal/config", "wharf/internal/auth/authn", "wharf/internal/auth/token",
				"wharf/internal/auth/mongo", "wharf/internal/auth/xorm"}},
		{pkg: "wharf/internal/auth/authn", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/password", "wharf/internal/gate"},
			notDeps: []string{"net/http", "wharf/internal/auth/authz", "wharf/internal/auth/token"}},
		// bcrypt's rules are a leaf the authenticators and the account
		// database share.
		{pkg: "wharf/internal/auth/password", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/gate", "golang.org/x/crypto/bcrypt"},
			notDeps: []string{"net/http", "wharf/internal/auth/authn", "wharf/internal/auth/authz", "wharf/internal/metadata"}},
		// The token server keeps sessions through a store it is handed: it
		// knows no database, and no SQL driver is linked through it.
		{pkg: "wharf/internal/auth/tokenserver", notDeps: []string{"wharf/internal/metadata",
			"modernc.org/sqlite", "modernc.org/sqlite/", "github.com/jackc/pgx/v5", "github.com/jackc/pgx/v5/", "github.com/go-sql-driver/mysql"}},
		// The bound on concurrent work (bcrypt, external calls) is a leaf
		// any package may use.
		{pkg: "wharf/internal/gate", onlyDirect: []string{"golang.org/x/sync/"}, notDeps: []string{"net/http"}},
		{pkg: "wharf/internal/auth/authn/static", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "wharf/internal/auth/password", "wharf/internal/keyhint", "wharf/internal/yamlnode", "gopkg.in/yaml.v3"},
			notDeps: []string{"net/http", "wharf/internal/auth/authz", "wharf/internal/config"}},
		{pkg: "wharf/internal/auth/authn/htpasswd", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "wharf/internal/auth/password"}, notDeps: []string{"net/http", "wharf/internal/auth/authz"}},
		// go-ldap links net/http through its NTLM bind; the backend itself
		// imports no HTTP package of its own or of wharf's.
		{pkg: "wharf/internal/auth/authn/ldap", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "github.com/go-ldap/ldap/", "github.com/go-asn1-ber/"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authz", "wharf/internal/auth/tokenserver", "wharf/internal/ociapi"}},
		// The account database (users, teams, rules, access tokens, sessions)
		// sits above the auth engines: it implements their contracts over
		// metadata, and nothing under internal/auth depends on it.
		{pkg: "wharf/internal/accounts", onlyDirect: []string{"wharf/internal/metadata", "wharf/internal/auth", "wharf/internal/auth/authn",
			"wharf/internal/auth/authz", "wharf/internal/auth/password"},
			notDeps: []string{"net/http", "wharf/internal/server", "wharf/internal/registry"}},
		{pkg: "wharf/internal/auth", notDeps: []string{"wharf/internal/accounts"}},
		{pkg: "wharf/internal/auth/", notDeps: []string{"wharf/internal/accounts"}},
		// The admin API: HTTP over the account operations, with logins
		// checked by the chains the composition root hands in.
		{pkg: "wharf/internal/adminapi", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "wharf/internal/auth/authz",
			"wharf/internal/auth/token", "wharf/internal/accounts", "wharf/internal/metadata", "wharf/internal/gate",
			"wharf/internal/edge", "wharf/internal/errcode", "wharf/internal/audit", "wharf/internal/retention"},
			notDeps: []string{"wharf/internal/server", "wharf/internal/cli", "wharf/internal/ociapi", "wharf/internal/registry", "wharf/internal/storage"}},
		// The web interface: pages over the token server's chains, the
		// login sessions' table and the registry's reads, as a pull sees
		// them; never the APIs' handlers, the composition root or a storage
		// driver.
		{pkg: "wharf/internal/ui", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "wharf/internal/auth/authz",
			"wharf/internal/accounts", "wharf/internal/metadata", "wharf/internal/registry", "wharf/internal/gate",
			"wharf/internal/edge", "wharf/internal/errcode", "wharf/internal/events", "github.com/opencontainers/go-digest", "github.com/opencontainers/image-spec/"},
			notDeps: []string{"wharf/internal/server", "wharf/internal/cli", "wharf/internal/ociapi", "wharf/internal/adminapi",
				"wharf/internal/auth/tokenserver", "wharf/internal/storage/filesystem", "wharf/internal/storage/s3", "wharf/internal/config"}},
		// docker_auth's backends, one package each: the MongoDB and SQL
		// stores (connection, users, rules over authz.Stored), the external
		// programs and webhooks, the browser sign-ins. Each builds on the
		// interfaces only; none reads config (authstack translates the
		// sections) or knows the token server, the server or the registry
		// API. files_test.go keeps the parts of each apart.
		{pkg: "wharf/internal/auth/mongo", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "wharf/internal/auth/authz", "go.mongodb.org/mongo-driver/v2/"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/tokenserver", "wharf/internal/server", "wharf/internal/ociapi"}},
		{pkg: "wharf/internal/auth/xorm", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "wharf/internal/auth/authz",
			"github.com/go-sql-driver/mysql", "github.com/jackc/pgx/v5", "github.com/jackc/pgx/v5/", "modernc.org/sqlite"},
			notDeps: []string{"net/http", "wharf/internal/config", "wharf/internal/auth/tokenserver", "wharf/internal/server", "wharf/internal/ociapi"}},
		// The webhook client is the one part of an auth backend that speaks
		// HTTP, and only as a client.
		{pkg: "wharf/internal/auth/external", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "wharf/internal/auth/authz"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/tokenserver", "wharf/internal/server", "wharf/internal/ociapi"}},
		// The browser sign-ins speak HTTP (to providers and browsers) but
		// know neither the configuration nor the token server or the ACL.
		{pkg: "wharf/internal/auth/signin", onlyDirect: []string{"wharf/internal/auth", "wharf/internal/auth/authn", "wharf/internal/errcode",
			"golang.org/x/oauth2", "modernc.org/sqlite", "github.com/coreos/go-oidc/"},
			notDeps: []string{"wharf/internal/config", "wharf/internal/auth/authz", "wharf/internal/auth/tokenserver", "wharf/internal/server", "wharf/internal/ociapi"}},
	}
}

func TestDependencyRules(t *testing.T) {
	pkgs := listPackages(t)
	rules := dependencyRules()
	// Test utilities (testserver, with zitadel's OpenID provider) never
	// reach the binary: only the end-to-end harness, itself test code, may
	// build on them.
	for path, p := range pkgs {
		if strings.HasPrefix(path, "wharf/internal/testserver") || strings.HasPrefix(path, "wharf/e2e/") {
			continue
		}
		for _, d := range p.Deps {
			if d == "wharf/internal/testserver" || strings.HasPrefix(d, "github.com/zitadel/") {
				t.Errorf("%s depends on %s, a test utility", path, d)
			}
		}
	}
	for _, d := range pkgs["wharf/cmd/wharf"].Deps {
		if strings.HasPrefix(d, "wharf/e2e/") || d == "wharf/internal/testserver" {
			t.Errorf("the wharf binary depends on %s, test code", d)
		}
		// Wharf speaks no gRPC: gRPC and grpc-gateway cost the binary
		// 2 MB (the official OTLP exporters import them).
		if d == "google.golang.org/grpc" || strings.HasPrefix(d, "github.com/grpc-ecosystem/") {
			t.Errorf("the wharf binary depends on %s; export traces with internal/tracing's OTLP/HTTP exporter", d)
		}
	}
	for _, v := range violations(pkgs, rules) {
		t.Error(v)
	}
	// ociapi must reach storage and metadata only through registry.
	for _, imp := range pkgs["wharf/internal/ociapi"].Imports {
		if strings.HasPrefix(imp, "wharf/internal/storage") || imp == "wharf/internal/metadata" {
			t.Errorf("ociapi imports %s directly; go through registry", imp)
		}
	}
}

// The matcher compares whole import paths: allowing wharf/internal/auth
// does not allow wharf/internal/auth/authn, and a planted forbidden import
// is reported.
func TestPlantedImports(t *testing.T) {
	t.Parallel()
	pkgs := map[string]pkgInfo{
		"wharf/internal/auth/token": {Imports: []string{"crypto/ecdsa", "wharf/internal/auth", "wharf/internal/auth/authn", "github.com/go-jose/go-jose/v4"},
			Deps: []string{"wharf/internal/auth/authn", "net/http"}},
	}
	rules := []rule{{pkg: "wharf/internal/auth/token", onlyDirect: []string{"wharf/internal/auth", "github.com/go-jose/"}, notDeps: []string{"net/http"}}}
	got := violations(pkgs, rules)
	want := []string{
		"wharf/internal/auth/token depends on net/http",
		"wharf/internal/auth/token imports wharf/internal/auth/authn; only the standard library and [wharf/internal/auth github.com/go-jose/] are allowed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%q\nwant\n%q", got, want)
	}
	if v := violations(map[string]pkgInfo{}, rules); len(v) != 1 || !strings.Contains(v[0], "not found") {
		t.Errorf("a rule for a package that is gone: %q", v)
	}
}

// A rule about "path/" holds for every package below it, and a notDeps
// entry ending in "/" forbids every package below that path; neither
// reaches a sibling whose name only starts the same.
func TestPlantedDependenciesBelow(t *testing.T) {
	t.Parallel()
	pkgs := map[string]pkgInfo{
		"wharf/internal/auth":                {Deps: []string{"wharf/internal/accounts"}},
		"wharf/internal/auth/authn/static":   {Deps: []string{"wharf/internal/accounts"}},
		"wharf/internal/auth/token":          {Deps: []string{"github.com/jackc/pgx/v5/pgconn"}},
		"wharf/internal/authstack":           {Deps: []string{"wharf/internal/accounts", "github.com/jackc/pgx/v5/pgconn"}},
		"wharf/internal/auth/authn/htpasswd": {Deps: []string{"github.com/jackc/pgx/v5x"}},
	}
	rules := []rule{{pkg: "wharf/internal/auth/", notDeps: []string{"wharf/internal/accounts", "github.com/jackc/pgx/v5/"}}}
	got := violations(pkgs, rules)
	want := []string{
		"wharf/internal/auth/authn/static depends on wharf/internal/accounts",
		"wharf/internal/auth/token depends on github.com/jackc/pgx/v5/pgconn",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%q\nwant\n%q", got, want)
	}
	if v := violations(map[string]pkgInfo{"wharf/internal/authstack": {}}, rules); len(v) != 1 || !strings.Contains(v[0], "not found") {
		t.Errorf("a rule for a tree that is gone: %q", v)
	}
}

// The real rules catch a token server that links the metadata database or
// a SQL driver again, and an auth package that reaches up to the account
// database.
func TestPlantedDatabaseDependencies(t *testing.T) {
	pkgs := listPackages(t)
	if v := violations(pkgs, dependencyRules()); len(v) != 0 {
		t.Fatalf("the real graph already breaks the rules: %v", v)
	}
	planted := [][2]string{
		{"wharf/internal/auth/tokenserver", "wharf/internal/metadata"},
		{"wharf/internal/auth/tokenserver", "modernc.org/sqlite/lib"},
		{"wharf/internal/auth/tokenserver", "github.com/go-sql-driver/mysql"},
		{"wharf/internal/auth", "wharf/internal/accounts"},
		{"wharf/internal/auth/authz/authztest", "wharf/internal/accounts"},
	}
	var want []string
	for _, pl := range planted {
		p := pkgs[pl[0]]
		p.Deps = append(slices.Clone(p.Deps), pl[1])
		pkgs[pl[0]] = p
		want = append(want, pl[0]+" depends on "+pl[1])
	}
	got := violations(pkgs, dependencyRules())
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("planted %q is not reported; got %q", w, got)
		}
	}
}
