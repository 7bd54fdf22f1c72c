package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
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
	cmd.SetArgs([]string{"status", "--config", cfg, "--data", filepath.Join(dir, "data"), "--repo", "team/app"})
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
	if f := columns(lines[1]); len(f) < 6 || f[0] != "good" || f[2] != "config" || f[3] != "ok" || f[4] != "200" || f[5] != "187" {
		t.Errorf("good upstream: %q; want config, ok, 200, 187", lines[1])
	}
	if f := columns(lines[2]); f[0] != "bad" || !strings.Contains(lines[2], "401") {
		t.Errorf("bad upstream: %q; want its 401", lines[2])
	}
	if strings.Contains(out.String()+errb.String()+err.Error(), "wrong") {
		t.Errorf("a password is printed:\n%s\n%s", out.String(), errb.String())
	}
}

// columns splits a table's line at its runs of two spaces or more.
func columns(line string) []string {
	return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
}

// TestMirrorCredentials: a credential set in the database replaces the
// configuration's wrong one (status says so, and the upstream takes it),
// lists without its password, refuses unknown upstreams, and once removed
// the configuration's is used again; a server with another key says which
// key it needs.
func TestMirrorCredentials(t *testing.T) {
	t.Setenv("WHARF_CONFIG", "")
	srv := fakeUpstream(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wrong.pw"), []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "wharf.yml")
	body := fmt.Sprintf("proxy:\n  upstreams:\n    - {prefix: good, url: %s, username: u, password_file: %s}\n", srv.URL, filepath.Join(dir, "wrong.pw"))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	args := func(a ...string) []string {
		return append([]string{"mirror"}, append(a, "--config", cfg, "--data", data)...)
	}

	out, _, err := runCLI(t, "", args("status")...)
	if err == nil || !strings.Contains(out, "401") {
		t.Fatalf("status with the configuration's wrong password: %v\n%s", err, out)
	}
	wantFail(t, "right\n", "the configured upstreams are good", args("credentials", "set", "ghcr", "--username", "u", "--password-stdin")...)
	wantFail(t, "right\n", "--username is required", args("credentials", "set", "good", "--password-stdin")...)
	out = mustCLI(t, "right\n", args("credentials", "set", "good", "--username", "u", "--password-stdin")...)
	if !strings.Contains(out, "stored the credential of upstream good") {
		t.Errorf("set said: %s", out)
	}
	if fi, err := os.Stat(filepath.Join(data, "auth", "upstream-credentials.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the data directory's key: %v %v", fi, err)
	}
	out, errOut, err := runCLI(t, "", args("status")...)
	if err != nil {
		t.Fatalf("status with the stored credential: %v\n%s%s", err, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if f := columns(lines[1]); len(f) < 4 || f[2] != "database (over config)" || f[3] != "ok" {
		t.Errorf("status: %q; want the database's credential, over the config's, ok", lines[1])
	}
	out = mustCLI(t, "", args("credentials", "ls")...)
	if f := columns(strings.Split(strings.TrimSpace(out), "\n")[1]); f[0] != "good" || f[1] != "database (over config)" || f[2] != "u" {
		t.Errorf("ls:\n%s", out)
	}
	jsonOut := mustCLI(t, "", args("credentials", "ls", "--json")...)
	if strings.Contains(out+jsonOut, "right") {
		t.Errorf("a listing shows the password:\n%s%s", out, jsonOut)
	}

	// Another key: the credential does not open, and ls names the fix.
	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	otherCfg := filepath.Join(dir, "other.yml")
	if err := os.WriteFile(otherCfg, []byte(strings.Replace(body, "proxy:\n", "proxy:\n  credentials_key_file: "+other+"\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, "", "mirror", "credentials", "ls", "--config", otherCfg, "--data", data)
	if !strings.Contains(out, "proxy.credentials_key_file") || !strings.Contains(out, "is sealed with key") {
		t.Errorf("ls with another key:\n%s", out)
	}

	// An upstream gone from the configuration: its stored credential is
	// listed as used by nothing.
	renamedCfg := filepath.Join(dir, "renamed.yml")
	if err := os.WriteFile(renamedCfg, []byte(strings.Replace(body, "prefix: good", "prefix: better", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, "", "mirror", "credentials", "ls", "--config", renamedCfg, "--data", data)
	if !strings.Contains(out, "no configured upstream has this name") || !strings.Contains(out, "better") {
		t.Errorf("ls with the upstream renamed:\n%s", out)
	}

	mustCLI(t, "", args("credentials", "rm", "good")...)
	wantFail(t, "", "no credential stored for upstream", args("credentials", "rm", "good")...)
	out = mustCLI(t, "", args("credentials", "ls")...)
	if f := columns(strings.Split(strings.TrimSpace(out), "\n")[1]); f[1] != "config" {
		t.Errorf("ls after rm:\n%s", out)
	}
	// The audit log holds the changes, without the password.
	out = mustCLI(t, "", "audit", "ls", "--data", data, "--config", cfg, "--json")
	if !strings.Contains(out, "upstream.credentials.set") || !strings.Contains(out, "upstream.credentials.remove") || strings.Contains(out, "right") {
		t.Errorf("audit:\n%s", out)
	}
}
