package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wharf/e2e/harness"
	"wharf/internal/auth/token"
)

// extAuthScript is an ext_auth program (docker_auth's protocol): carol is
// its user, slowpoke makes it hang, anyone else is not its business.
const extAuthScript = `#!/bin/sh
line=$(cat)
u=${line%% *}
p=${line#* }
case "$u" in
carol)
  [ "$p" = 'carol-pw-3' ] || exit 1
  echo '{"labels": {"team": ["ext"]}}'
  exit 0;;
slowpoke)
  sleep 1000;;
esac
exit 2
`

// extAuthzScript is an ext_authz program: carol, with the label ext_auth
// gave her, may push and pull e2e/ext-ok; asking about e2e/hang makes it
// hang; everything else is denied.
const extAuthzScript = `#!/bin/sh
in=$(cat)
case "$in" in
*'"Name":"e2e/hang"'*)
  sleep 1000;;
*'"Account":"carol"'*'"Name":"e2e/ext-ok"'*'"Labels":{"team":["ext"],"wharf.source":["ext_auth"]}'*)
  exit 0;;
esac
exit 1
`

func writeExecutable(t *testing.T, dir, name, body string) string {
	t.Helper()
	return writeTestFile(t, dir, name, body, 0o755)
}

// tokenStatus asks the token endpoint directly and returns the status and
// body.
func tokenStatus(t *testing.T, w *harness.Wharf, user, pass, scope string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, w.URL()+"/auth/token?service=wharf&scope="+scope, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, string(b)
}

// checkHang: a backend that hangs gives a clear 503 to the token request
// and a log line saying why — never a grant. With d, docker's push is
// tried too (docker retries a 503 for about a minute before it gives up).
func checkHang(t *testing.T, d *harness.Dockerd, w *harness.Wharf, user, pass, logWant string) {
	t.Helper()
	status, body := tokenStatus(t, w, user, pass, "repository:e2e/hang:pull,push")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") || strings.Contains(body, "token\"") {
		t.Errorf("token request answered by a hanging backend: %d %s; want 503", status, body)
	}
	if !strings.Contains(w.Log(), logWant) {
		t.Errorf("the log does not say %q:\n%s", logWant, w.Log())
	}
	if d == nil {
		return
	}
	d.Run("tag", w.Addr()+"/e2e/seed:1", w.Addr()+"/e2e/hang:1")
	out, err := d.TryRun(nil, "push", w.Addr()+"/e2e/hang:1")
	if err == nil {
		t.Errorf("push through a hanging authorizer succeeded:\n%s", out)
	}
	if !strings.Contains(out, "503 Service Unavailable") {
		t.Errorf("docker push through a hanging authorizer should report the 503:\n%s", out)
	}
}

// TestExtAuthDocker: docker logs in as users known only to an external
// program (ext_auth) or to a webhook (webhook_auth), pushes and pulls with
// the permission ext_authz or webhook_authz gives, is denied what they
// deny, and gets a clear error, not a grant, when a backend hangs.
func TestExtAuthDocker(t *testing.T) {
	harness.SkipIfShort(t)
	rootfs := busyboxRootfs(t)
	d := harness.StartDockerd(t)
	t.Cleanup(httpClient.CloseIdleConnections)

	t.Run("programs", func(t *testing.T) {
		dir := t.TempDir()
		cfg := fmt.Sprintf("ext_auth:\n  command: %s\n  timeout: 2s\next_authz:\n  command: %s\n  timeout: 2s\n",
			writeExecutable(t, dir, "ext_auth.sh", extAuthScript), writeExecutable(t, dir, "ext_authz.sh", extAuthzScript))
		cfgPath := writeConfig(t, dir, cfg)
		w := harness.StartWharf(t, "--config", cfgPath, "--auth", "token")
		ok, denied := w.Addr()+"/e2e/ext-ok:1", w.Addr()+"/e2e/ext-denied:1"
		d.Run("import", rootfs, w.Addr()+"/e2e/seed:1")
		d.Run("tag", w.Addr()+"/e2e/seed:1", ok)
		d.Run("tag", w.Addr()+"/e2e/seed:1", denied)

		if out, err := d.TryRun(strings.NewReader("wrong"), "login", "-u", "carol", "--password-stdin", w.Addr()); err == nil {
			t.Fatalf("login with a wrong password succeeded:\n%s", out)
		}
		if out, err := d.TryRun(strings.NewReader("carol-pw-3"), "login", "-u", "nobody", "--password-stdin", w.Addr()); err == nil {
			t.Fatalf("login as a user no backend knows succeeded:\n%s", out)
		}
		if out, err := d.TryRun(strings.NewReader("carol-pw-3"), "login", "-u", "carol", "--password-stdin", w.Addr()); err != nil {
			t.Fatalf("docker login as carol (known to ext_auth only): %v\n%s", err, out)
		}
		d.Run("push", ok)
		d.Run("rmi", ok)
		d.Run("pull", ok)
		out, err := d.TryRun(nil, "push", denied)
		if err == nil {
			t.Fatalf("a push ext_authz denies succeeded:\n%s", out)
		}
		if !strings.Contains(out, "denied: requested access to the resource is denied") {
			t.Errorf("denied push: want docker's \"denied: requested access to the resource is denied\", got:\n%s", out)
		}
		checkHang(t, d, w, "carol", "carol-pw-3", "ext_authz")
		status, body := tokenStatus(t, w, "slowpoke", "pw", "repository:e2e/ext-ok:pull")
		if status != http.StatusServiceUnavailable {
			t.Errorf("login through a hanging ext_auth: %d %s; want 503", status, body)
		}
		if log := w.Log(); !strings.Contains(log, "timed out") || !strings.Contains(log, "process group was killed") {
			t.Errorf("the log does not report the timeouts:\n%s", log)
		}
		// The timeouts are logged as errors of the logins they refused,
		// each with the login request's id.
		if checkRequestIDs(t, w) == 0 {
			t.Errorf("no error logged with a request id while a backend hung:\n%s", w.Log())
		}
		d.Run("logout", w.Addr())
	})

	t.Run("webhooks", func(t *testing.T) {
		dir := t.TempDir()
		const hookSecret = "Bearer e2e-hook-secret"
		hook := newHookServer(t, hookSecret)
		secretFile := filepath.Join(dir, "hook.secret")
		if err := os.WriteFile(secretFile, []byte(hookSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := fmt.Sprintf(`webhook_auth:
  url: %[1]s/login
  timeout: 2s
  secret_header: Authorization
  secret_file: %[2]s
webhook_authz:
  url: %[1]s/authz
  timeout: 2s
  secret_header: Authorization
  secret_file: %[2]s
`, hook.URL, secretFile)
		cfgPath := writeConfig(t, dir, cfg)
		w := harness.StartWharf(t, "--config", cfgPath, "--auth", "token")
		ok, readOnly := w.Addr()+"/e2e/hook-ok:1", w.Addr()+"/e2e/hook-ro:1"
		d.Run("import", rootfs, w.Addr()+"/e2e/seed:1")
		d.Run("tag", w.Addr()+"/e2e/seed:1", ok)
		d.Run("tag", w.Addr()+"/e2e/seed:1", readOnly)

		if out, err := d.TryRun(strings.NewReader("wrong"), "login", "-u", "dave", "--password-stdin", w.Addr()); err == nil {
			t.Fatalf("login with a wrong password succeeded:\n%s", out)
		}
		if out, err := d.TryRun(strings.NewReader("dave-pw-4"), "login", "-u", "dave", "--password-stdin", w.Addr()); err != nil {
			t.Fatalf("docker login as dave (known to the webhook only): %v\n%s", err, out)
		}
		d.Run("push", ok)
		d.Run("rmi", ok)
		d.Run("pull", ok)
		out, err := d.TryRun(nil, "push", readOnly)
		if err == nil {
			t.Fatalf("a push the webhook grants pull only for succeeded:\n%s", out)
		}
		if !strings.Contains(out, "denied: requested access to the resource is denied") {
			t.Errorf("denied push: want docker's \"denied: requested access to the resource is denied\", got:\n%s", out)
		}
		checkHang(t, nil, w, "dave", "dave-pw-4", "webhook_authz")
		if strings.Contains(w.Log(), "e2e-hook-secret") || strings.Contains(w.Log(), "dave-pw-4") {
			t.Error("the log shows the webhook secret or a password")
		}
		d.Run("logout", w.Addr())
	})
}

// newHookServer is a webhook_auth and webhook_authz endpoint: dave may
// push and pull e2e/hook-ok and pull e2e/hook-ro; e2e/hang makes it hang
// until wharf gives up. Calls without the secret header are refused.
func newHookServer(t *testing.T, secret string) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ User, Password string }
		if r.Header.Get("Authorization") != secret || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		switch {
		case in.User == "dave" && in.Password == "dave-pw-4":
			_, _ = io.WriteString(w, `{"result": "allow", "labels": {"team": ["hooks"]}}`)
		case in.User == "dave":
			_, _ = io.WriteString(w, `{"result": "deny"}`)
		default:
			_, _ = io.WriteString(w, `{"result": "no_match"}`)
		}
	})
	mux.HandleFunc("POST /authz", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Account string
			Labels  map[string][]string
			Name    string
			Actions []string
		}
		if r.Header.Get("Authorization") != secret || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		switch {
		case in.Name == "e2e/hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case in.Account == "dave" && slices.Contains(in.Labels["team"], "hooks") && in.Name == "e2e/hook-ok":
			_, _ = io.WriteString(w, `{"result": "allow", "actions": ["pull", "push"]}`)
		case in.Account == "dave" && in.Name == "e2e/hook-ro":
			_, _ = io.WriteString(w, `{"result": "allow", "actions": ["pull"]}`)
		default:
			_, _ = io.WriteString(w, `{"result": "deny"}`)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first, so that Close does not wait
	return srv
}

// TestExtAuthDockerAuthConfig: `wharf auth` reads a docker_auth
// configuration with ext_auth and ext_authz and runs docker_auth's example
// script unchanged.
func TestExtAuthDockerAuthConfig(t *testing.T) {
	harness.SkipIfShort(t)
	bash := harness.RequireTool(t, "bash")
	dir := t.TempDir()
	_, _, keyPath, certPath := signingPair(t, token.KeyECDSAP256, "auth-server")
	// docker_auth's examples/ext_auth.sh, with its #!/bin/bash line pointed
	// at this machine's bash.
	script := writeExecutable(t, dir, "ext_auth.sh", "#!"+bash+`
#
# Example external authenticator program for use with `+"`ext_auth`"+`.
#

read u p

if [ "$u" == "user" -a "$p" == "pass" ]; then
  exit 0
fi

if [ "$u" == "bofh" -a "$p" == "LART" ]; then
  echo '{"labels": {"level": ["max"], "groups": ["VIP", "ATeam"]}}'
  exit 0
fi

exit 1
`)
	authz := writeExecutable(t, dir, "my_authz.sh", "#!/bin/sh\nin=$(cat)\ncase \"$in\" in *'\"Labels\":{\"groups\":[\"VIP\",\"ATeam\"]'*) exit 0;; esac\nexit 1\n")
	cfg := filepath.Join(dir, "auth_config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`server:
  addr: ":5001"
token:
  issuer: "Acme auth server"
  expiration: 900
  certificate: %q
  key: %q
ext_auth:
  command: %q
  args: ["--flag", "--more", "--flags"]
ext_authz:
  command: %q
`, certPath, keyPath, script, authz)), 0o600); err != nil {
		t.Fatal(err)
	}
	w := harness.StartWharfCommand(t, nil, "auth", "--config", cfg, "--addr", "127.0.0.1:0", "--data", t.TempDir())
	for _, tc := range []struct {
		user, pass string
		status     int
		granted    bool
	}{
		{"bofh", "LART", 200, true},
		{"user", "pass", 200, false},
		{"user", "wrong", 401, false},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, w.URL()+"/auth?service=registry&scope=repository:a/b:pull", nil)
		req.SetBasicAuth(tc.user, tc.pass)
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Token string }
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s/%s: status %d, want %d", tc.user, tc.pass, res.StatusCode, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if got := tokenGrants(t, body.Token, "a/b"); slices.Contains(got, "pull") != tc.granted {
			t.Errorf("%s: token grants %v on a/b; want pull %v", tc.user, got, tc.granted)
		}
	}
}

// tokenGrants decodes (without verifying: the issuer is under test
// elsewhere) the actions a token grants on a repository.
func tokenGrants(t *testing.T, raw, repo string) []string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Access []struct {
			Name    string
			Actions []string
		}
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for _, a := range claims.Access {
		if a.Name == repo {
			return a.Actions
		}
	}
	return nil
}
