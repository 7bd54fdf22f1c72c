package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/external/externaltest"
	"wharf/internal/auth/password"
	"wharf/internal/certs"
	"wharf/internal/compat/distribution"
	"wharf/internal/compat/dockerauth"
	"wharf/internal/config"
)

// startServer builds the server of cfg, logging to a file, and serves its
// handler on a random loopback port until the test ends.
func startServer(t *testing.T, cfg config.Config) (*httptest.Server, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "wharf.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s, err := New(t.Context(), cfg, slog.New(slog.NewTextHandler(f, nil)), &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(s.http.Handler)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log %s:\n%s", logPath, b)
		}
	})
	return srv, logPath
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func bcryptHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

type tokenAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

func getToken(t *testing.T, srv *httptest.Server, user, pass string, scopes []string) tokenAnswer {
	t.Helper()
	q := url.Values{"service": {"wharf"}, "scope": scopes}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/auth?"+q.Encode(), nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return tokenAnswer{res.StatusCode, res.Header, body}
}

func scopes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("repository:team/app%d:pull", i)
	}
	return out
}

// TestExternalCallPool runs a real ext_authz program that records, as it
// starts, how many of its runs are alive (one file per live run): with
// limits.external_calls: 2, several authenticated 64-scope token requests
// at once never have more than 2 programs alive, and every scope is still
// answered. Without the pool each scope of each request started its own.
func TestExternalCallPool(t *testing.T) {
	t.Parallel()
	runs := t.TempDir()
	// Shell built-ins where possible: fewer processes, a faster test.
	script := externaltest.Script(t, "ext_authz.sh", fmt.Sprintf(`: > %[1]q/run.$$
set -- %[1]q/run.*
echo $# >> %[1]q/alive
sleep 0.02
rm -f %[1]q/run.$$
`, runs))
	cfg, err := config.Load(writeFile(t, "wharf.yml", fmt.Sprintf(`
users:
  carol: {password: %q}
ext_authz:
  command: %s
limits:
  external_calls: 2
`, bcryptHash(t, "carol-pw"), script)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data = t.TempDir()
	srv, _ := startServer(t, cfg)

	var wg sync.WaitGroup
	const requests = 3
	for i := range requests {
		wg.Go(func() {
			a := getToken(t, srv, "carol", "carol-pw", scopes(64))
			if a.status != http.StatusOK || a.body["token"] == nil {
				t.Errorf("request %d: %d %v", i, a.status, a.body)
			}
		})
	}
	wg.Wait()
	b, err := os.ReadFile(filepath.Join(runs, "alive"))
	if err != nil {
		t.Fatal(err)
	}
	var alive []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("alive file: %q", b)
		}
		alive = append(alive, n)
	}
	peak := slices.Max(alive)
	t.Logf("%d runs of ext_authz for %d requests of 64 scopes; at most %d alive at once", len(alive), requests, peak)
	if len(alive) != requests*64 {
		t.Errorf("%d runs, want %d (one per scope)", len(alive), requests*64)
	}
	if peak > 2 {
		t.Errorf("%d ext_authz programs alive at once; limits.external_calls is 2", peak)
	}
}

// TestLimitsInEveryRole: `wharf serve`, `wharf registry` and `wharf
// auth` (from a distribution and a docker_auth configuration, which have
// no limits section) run with the same, documented limits; `wharf auth`
// refuses an anonymous request for more scopes than the default cap and
// states its limits at start-up, and applies configured ones.
func TestLimitsInEveryRole(t *testing.T) {
	t.Parallel()
	files, err := certs.Init(certs.InitOptions{Dir: t.TempDir(), Names: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	key, cert := files.TokenKey, files.TokenCert
	auth, err := dockerauth.Load(writeFile(t, "auth_config.yml", `
server:
  addr: "127.0.0.1:0"
token:
  issuer: "Auth Service"
  expiration: 900
  certificate: `+cert+`
  key: `+key+`
users:
  "": {}
acl:
  - match: {account: ""}
    actions: ["pull"]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	auth.Data = t.TempDir()
	registry, err := distribution.Load(writeFile(t, "config.yml", "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Limits{PasswordChecks: runtime.GOMAXPROCS(0), PasswordCheckWait: config.Duration(time.Second),
		ExternalCalls: 2 * runtime.GOMAXPROCS(0), ExternalCallWait: config.Duration(10 * time.Second),
		AnonymousScopes: 8, AnonymousTokenBurst: 100, AnonymousTokenRate: 20}
	for _, c := range []config.Config{config.Default(), auth, registry} {
		if diff := cmp.Diff(want, c.Limits.WithDefaults()); diff != "" {
			t.Errorf("%s: limits differ from the documented defaults (-want +got):\n%s", c.Role, diff)
		}
	}

	srv, logPath := startServer(t, auth)
	a := getToken(t, srv, "", "", scopes(9))
	msg, _ := a.body["details"].(string)
	if a.status != http.StatusBadRequest || !strings.Contains(msg, "at most 8 scopes") {
		t.Errorf("anonymous, 9 scopes: %d %v", a.status, a.body)
	}
	if a := getToken(t, srv, "", "", scopes(8)); a.status != http.StatusOK {
		t.Errorf("anonymous, 8 scopes: %d %v", a.status, a.body)
	}
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), "limits on the work of clients") || !strings.Contains(string(b), "anonymous_scopes=8") {
		t.Errorf("the start-up log does not state the limits:\n%s", b)
	}

	configured := auth
	configured.Data = t.TempDir()
	configured.Limits = config.Limits{AnonymousScopes: 2, AnonymousTokenBurst: 3, AnonymousTokenRate: 0.001}
	srv, _ = startServer(t, configured)
	if a := getToken(t, srv, "", "", scopes(3)); a.status != http.StatusBadRequest {
		t.Errorf("limits.anonymous_scopes: 2, 3 scopes: %d %v", a.status, a.body)
	}
	for i := range 2 {
		if a := getToken(t, srv, "", "", scopes(1)); a.status != http.StatusOK {
			t.Errorf("anonymous request %d of a burst of 3: %d %v", i+2, a.status, a.body)
		}
	}
	a = getToken(t, srv, "", "", scopes(1))
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Errorf("limits.anonymous_token_burst: 3, 4th request: %d %v %v", a.status, a.header, a.body)
	}
}

// TestRegistryBasicLimits: `wharf registry` with auth: htpasswd (from a
// distribution configuration) checks its Basic logins under the login
// limiter and the process's password gate: concurrent guesses are checked
// at most burst times, a full gate is 503 UNAVAILABLE with Retry-After
// (and not a failed login), and the server serves again when a slot frees.
// Not parallel: it replaces the process's password gate.
func TestRegistryBasicLimits(t *testing.T) {
	dir := t.TempDir()
	htpasswd := writeFile(t, "htpasswd", "alice:"+bcryptHash(t, "alice-pw")+"\ncarol:"+bcryptHash(t, "carol-pw")+"\n")
	cfg, err := distribution.Load(writeFile(t, "config.yml", fmt.Sprintf(`version: 0.1
storage:
  filesystem:
    rootdirectory: %s
auth:
  htpasswd:
    realm: test
    path: %s
`, dir, htpasswd)), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := startServer(t, cfg)
	if got, want := password.Checks().Slots(), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("wharf registry: %d password check slots, want the default %d", got, want)
	}
	v2 := func(user, pass string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/", nil)
		req.SetBasicAuth(user, pass)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}

	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for i := range 25 {
		wg.Go(func() {
			res := v2("alice", fmt.Sprint("guess-", i))
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("25 concurrent Basic guesses: %v", statuses)
	if statuses[http.StatusUnauthorized] > 10 || statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != 25 {
		t.Errorf("answers %v; want at most 10 checked (401), the others 429", statuses)
	}

	release := authntest.FillPasswordGate(t, 10*time.Millisecond, nil)
	for _, user := range []string{"carol", "mallory", "carol", "carol", "carol", "carol", "carol", "carol", "carol", "carol", "carol", "carol"} {
		res := v2(user, "wrong")
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "1" {
			t.Fatalf("full gate, %s: %d, Retry-After %q; want 503 with Retry-After", user, res.StatusCode, res.Header.Get("Retry-After"))
		}
	}
	release()
	// carol's eleven refused logins did not count as failures.
	if res := v2("carol", "carol-pw"); res.StatusCode != http.StatusOK {
		t.Fatalf("after the slot freed: %d", res.StatusCode)
	}
}
