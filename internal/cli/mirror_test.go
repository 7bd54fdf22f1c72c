package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeUpstream answers the token handshake for user u with password p,
// and manifests with Docker Hub's rate-limit headers.
func fakeUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			if u, p, ok := r.BasicAuth(); !ok || u != "u" || p != "right" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"token":"t"}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer t" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="fake"`, r.Host))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("RateLimit-Limit", "200;w=21600")
		w.Header().Set("RateLimit-Remaining", "187;w=21600")
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestMirrorStatus(t *testing.T) {
	t.Setenv("WHARF_CONFIG", "")
	srv := fakeUpstream(t)
	dir := t.TempDir()
	for name, pw := range map[string]string{"right.pw": "right\n", "wrong.pw": "wrong\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(pw), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "wharf.yml")
	body := fmt.Sprintf(`proxy:
  upstreams:
    - {prefix: good, url: %[1]s, username: u, password_file: %[2]s}
    - {prefix: bad, url: %[1]s, username: u, password_file: %[3]s}
`, srv.URL, filepath.Join(dir, "right.pw"), filepath.Join(dir, "wrong.pw"))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := newMirror()
	cmd.SetArgs([]string{"status", "--config", cfg, "--repo", "team/app"})
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(t.Context())
	if err == nil || !strings.Contains(err.Error(), "bad failed") {
		t.Errorf("mirror status with one upstream refusing its password: %v; want an error naming it", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("output:\n%s", out.String())
	}
	if f := strings.Fields(lines[1]); len(f) < 5 || f[0] != "good" || f[2] != "ok" || f[3] != "200" || f[4] != "187" {
		t.Errorf("good upstream: %q; want ok, 200, 187", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "bad" || !strings.Contains(lines[2], "401") {
		t.Errorf("bad upstream: %q; want its 401", lines[2])
	}
	if strings.Contains(out.String()+errb.String()+err.Error(), "wrong") {
		t.Errorf("a password is printed:\n%s\n%s", out.String(), errb.String())
	}
}
