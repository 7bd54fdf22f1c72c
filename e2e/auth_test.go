package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/crypto/bcrypt"

	"wharf/e2e/harness"
)

// writeConfig writes body as dir/wharf.yml, readable by its owner only
// (configurations hold password hashes and secrets' paths), and returns the
// path.
func writeConfig(t testing.TB, dir, body string) string {
	t.Helper()
	return writeTestFile(t, dir, "wharf.yml", body, 0o600)
}

// writeTestFile writes body as dir/name with mode and returns the path.
func writeTestFile(t testing.TB, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// The classic docker_auth example, as a wharf.yml: admin may do anything,
// test may only pull, any logged-in user may pull, and the anonymous
// account may pull e2e/public only.
const authConfig = `auth: token
users:
  admin:
    password: %q
  test:
    password: %q
  "": {}
acl:
  - match: {account: admin}
    actions: ["*"]
    comment: admin can do anything
  - match: {account: test}
    actions: [pull]
  - match: {account: "/.+/"}
    actions: [pull]
  - match: {account: "", name: e2e/public}
    actions: [pull]
`

const (
	adminPassword = "admin-pw-1"
	testPassword  = "test-pw-2"
)

// startTokenWharf starts `wharf serve` with token auth and the classic
// users and ACL.
func startTokenWharf(t *testing.T) *harness.Wharf {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(authConfig, hash(adminPassword), hash(testPassword)))
	w := harness.StartWharf(t, "--config", cfg, "--auth", "token")
	t.Cleanup(httpClient.CloseIdleConnections)
	return w
}

// TestDockerTokenAuth is the classic stack's acceptance test with the real
// docker CLI and daemon against `wharf serve`.
func TestDockerTokenAuth(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	w := startTokenWharf(t)
	defer checkRequestIDs(t, w) // every warning and error of a request carries its id
	private, public := w.Addr()+"/e2e/private:1", w.Addr()+"/e2e/public:1"
	d.Run("import", rootfs, private)
	d.Run("tag", private, public)

	// Not logged in: nothing can be pushed.
	if out, err := d.TryRun(nil, "push", private); err == nil {
		t.Fatalf("anonymous push succeeded:\n%s", out)
	}

	// admin pushes both.
	if out, err := d.TryRun(strings.NewReader("wrong"), "login", "-u", "admin", "--password-stdin", w.Addr()); err == nil {
		t.Fatalf("docker login with a wrong password succeeded:\n%s", out)
	}
	d.Run("login", "-u", "admin", "--password", adminPassword, w.Addr())
	d.Run("push", private)
	d.Run("push", public)
	d.Run("logout", w.Addr())
	d.Run("rmi", private, public)

	// Logged out: only the public repository can be pulled.
	d.Run("pull", public)
	if out, err := d.TryRun(nil, "pull", private); err == nil {
		t.Errorf("anonymous pull of a private repository succeeded:\n%s", out)
	}

	// test pulls, but its push is denied the way docker users know.
	t.Run("test user", func(t *testing.T) {
		out, err := d.TryRun(strings.NewReader(testPassword), "login", "-u", "test", "--password-stdin", w.Addr())
		if err != nil {
			t.Fatalf("docker login as test: %v\n%s", err, out)
		}
		d.Run("pull", private)
		d.Run("tag", private, w.Addr()+"/e2e/private:2")
		out, err = d.TryRun(nil, "push", w.Addr()+"/e2e/private:2")
		if err == nil {
			t.Fatalf("a pull-only user pushed:\n%s", out)
		}
		if !strings.Contains(out, "denied: requested access to the resource is denied") {
			t.Errorf("push by a pull-only user: want docker's \"denied: requested access to the resource is denied\", got:\n%s", out)
		}
	})
}

// TestClientsTokenFlow logs skopeo and go-containerregistry (crane's
// library) in through the token flow and copies an image with each.
func TestClientsTokenFlow(t *testing.T) {
	harness.SkipIfShort(t)
	skopeoBin := harness.RequireTool(t, "skopeo")
	w := startTokenWharf(t)
	ctx := testContext(t, 5*time.Minute)
	img, err := random.Image(64<<10, 2)
	if err != nil {
		t.Fatal(err)
	}

	// go-containerregistry: Basic credentials, exchanged for a token.
	admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})
	src := ref(t, w, "e2e/crane:1")
	if err := remote.Write(src, img, admin, remote.WithContext(ctx)); err != nil {
		t.Fatalf("push as admin: %v", err)
	}
	if err := remote.Write(ref(t, w, "e2e/crane:2"), img, remote.WithAuth(&authn.Basic{Username: "test", Password: testPassword})); err == nil {
		t.Error("push as test (pull only) succeeded")
	}
	if _, err := remote.Image(src, remote.WithAuth(&authn.Basic{Username: "admin", Password: "wrong"})); err == nil {
		t.Error("pull with a wrong password succeeded")
	}
	if _, err := remote.Image(src, remote.WithContext(ctx)); err == nil {
		t.Error("anonymous pull of a private repository succeeded")
	}
	back, err := remote.Image(src, remote.WithAuth(&authn.Basic{Username: "test", Password: testPassword}))
	if err != nil {
		t.Fatalf("pull as test: %v", err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatal(err)
	}

	// skopeo: log in, then copy between two repositories of the registry.
	tmp := t.TempDir()
	skopeo := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, skopeoBin, append([]string{"--insecure-policy", "--tmpdir", tmp}, args...)...)
		cmd.Env = append(os.Environ(), "REGISTRY_AUTH_FILE="+filepath.Join(tmp, "auth.json"))
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := skopeo("wrong", "login", "--tls-verify=false", "-u", "admin", "--password-stdin", w.Addr()); err == nil {
		t.Fatalf("skopeo login with a wrong password succeeded:\n%s", out)
	}
	if out, err := skopeo(adminPassword, "login", "--tls-verify=false", "-u", "admin", "--password-stdin", w.Addr()); err != nil {
		t.Fatalf("skopeo login: %v\n%s", err, out)
	}
	if out, err := skopeo("", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
		"docker://"+w.Addr()+"/e2e/crane:1", "docker://"+w.Addr()+"/e2e/skopeo:1"); err != nil {
		t.Fatalf("skopeo copy through the token flow: %v\n%s", err, out)
	}
	copied, err := remote.Image(ref(t, w, "e2e/skopeo:1"), admin)
	if err != nil {
		t.Fatal(err)
	}
	if want, got := mustDigest(t, img), mustDigest(t, copied); want != got {
		t.Errorf("skopeo copied %s, want %s", got, want)
	}
}

// TestHtpasswdAuth runs `wharf serve --auth htpasswd`: HTTP Basic against an
// htpasswd file, as distribution's htpasswd mode, with failed logins
// rate-limited.
func TestHtpasswdAuth(t *testing.T) {
	harness.SkipIfShort(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(pw, []byte("ci:"+bcryptHash(t, "ci-pw")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, "htpasswd:\n  path: "+pw+"\n  realm: e2e\n")
	w := harness.StartWharf(t, "--config", cfg, "--auth", "htpasswd")
	t.Cleanup(httpClient.CloseIdleConnections)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := ref(t, w, "e2e/basic:1")
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: "ci", Password: "ci-pw"})); err != nil {
		t.Fatalf("push with Basic credentials: %v", err)
	}
	if res := do(t, "GET", w.URL()+"/v2/", nil); res.Status != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), `Basic realm="e2e"`) {
		t.Fatalf("GET /v2/ without credentials: %v", res)
	}
	status := 0
	for i := 0; i < 20 && status != 429; i++ {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", w.URL()+"/v2/", nil)
		req.SetBasicAuth("ci", "wrong")
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		status = res.StatusCode
		if status == 429 && res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if status != 429 {
		t.Errorf("20 wrong passwords in a row were never rate-limited (last status %d)", status)
	}
}

// TestTokenListener serves the token endpoint on its own port, as the
// classic layout does (:5000 and :5001): challenges name that port, and a
// client following them gets a token there that the registry port accepts.
// (go-containerregistry refuses a realm on another port of a private
// address, so the flow is driven by hand.)
func TestTokenListener(t *testing.T) {
	harness.SkipIfShort(t)
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(authConfig, bcryptHash(t, adminPassword), bcryptHash(t, testPassword)))
	w := harness.StartWharf(t, "--config", cfg, "--auth", "token", "--token-addr", "127.0.0.1:0")
	t.Cleanup(httpClient.CloseIdleConnections)
	res := do(t, http.MethodGet, w.URL()+"/v2/", nil)
	realm := challengeParam(res.Header.Get("WWW-Authenticate"), "realm")
	if realm == "" || strings.Contains(realm, w.Addr()) || !strings.HasSuffix(realm, "/auth/token") {
		t.Fatalf("realm %q: want the token listener's port, not %s", realm, w.Addr())
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, realm+"?service=wharf&scope=registry:catalog:*", nil)
	req.SetBasicAuth("admin", adminPassword)
	tr, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("token listener: %v", err)
	}
	var body struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(tr.Body).Decode(&body)
	tr.Body.Close()
	if err != nil || tr.StatusCode != http.StatusOK || body.Token == "" {
		t.Fatalf("token listener answered %d: %v", tr.StatusCode, err)
	}
	if res := do(t, http.MethodGet, w.URL()+"/v2/_catalog", nil, "Authorization", "Bearer "+body.Token); res.Status != http.StatusOK {
		t.Fatalf("registry port refused the token listener's token: %v", res)
	}
}

// challengeParam extracts one parameter of a WWW-Authenticate challenge.
func challengeParam(h, key string) string {
	for _, part := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(part, "Bearer ")), "=")
		if ok && k == key {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
