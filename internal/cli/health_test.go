package cli

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/internal/config"
	"wharf/internal/datadir"
)

// writeCA installs srv's certificate where tls: auto keeps its CA, under a
// fresh data directory, and returns the data directory.
func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	data := t.TempDir()
	if err := os.MkdirAll(datadir.New(data).TLS(), 0o755); err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(datadir.New(data).TLSCACert(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func healthHandler(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("ok\n"))
	}
}

// runHealth runs `wharf health args…` and returns the exit code and stderr,
// as Run would print them.
func runHealth(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newHealth()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	code := 0
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		fmt.Fprintln(&errb, "wharf:", err)
		code = 1
	}
	if code == 0 && !strings.Contains(out.String(), "200 OK") {
		t.Errorf("success without saying so: stdout %q", out.String())
	}
	return code, errb.String()
}

// The environment is per process, so these tests do not run in parallel.
func TestHealth(t *testing.T) {
	plain := httptest.NewServer(healthHandler(http.StatusOK))
	defer plain.Close()
	failing := httptest.NewServer(healthHandler(http.StatusServiceUnavailable))
	defer failing.Close()
	secure := httptest.NewTLSServer(healthHandler(http.StatusOK))
	defer secure.Close()
	closed := httptest.NewServer(healthHandler(http.StatusOK))
	closed.Close()
	withCA := writeCA(t, secure)
	noCA := t.TempDir()
	hostPort := func(s *httptest.Server) string {
		return strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
	}
	port := func(s *httptest.Server) string {
		_, p, _ := net.SplitHostPort(hostPort(s))
		return p
	}
	// A wharf.yml, as WHARF_CONFIG names it for wharf serve: health reads
	// the same settings.
	configFile := func(body string) string {
		p := filepath.Join(t.TempDir(), "wharf.yml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fromFile := configFile(fmt.Sprintf("addr: %q\ndata: %q\n", hostPort(secure), withCA))
	tlsOffFile := configFile(fmt.Sprintf("addr: %q\ntls: \"off\"\n", hostPort(plain)))

	tests := []struct {
		name    string
		env     map[string]string // WHARF_* for this case; the others are empty
		args    []string
		ok      bool
		wantErr []string // in stderr when !ok
	}{
		{"http 200", nil, []string{"--url", plain.URL + "/healthz"}, true, nil},
		{"http 503", nil, []string{"--url", failing.URL + "/healthz"}, false, []string{"health:", "503 Service Unavailable"}},
		{"wrong path", nil, []string{"--url", plain.URL + "/nothing"}, false, []string{"404 Not Found"}},
		{"nothing listening", nil, []string{"--url", closed.URL + "/healthz"}, false, []string{"connection refused"}},
		{"https unknown CA", map[string]string{"WHARF_DATA": noCA}, []string{"--url", secure.URL + "/healthz"}, false,
			[]string{"signed by a CA this machine does not trust", "/etc/docker/certs.d/" + hostPort(secure) + "/ca.crt", "--insecure"}},
		{"https wrong name", map[string]string{"WHARF_DATA": withCA}, []string{"--url", "https://localhost:" + port(secure) + "/healthz"}, false,
			[]string{"certificate is for example.com, *.example.com, 127.0.0.1, ::1, not localhost", "tls_names"}},
		{"https generated CA", map[string]string{"WHARF_DATA": withCA}, []string{"--url", secure.URL + "/healthz"}, true, nil},
		{"https insecure", map[string]string{"WHARF_DATA": noCA}, []string{"--url", secure.URL + "/healthz", "--insecure"}, true, nil},
		// Without --url: what the image's HEALTHCHECK does.
		{"default http", map[string]string{"WHARF_ADDR": hostPort(plain), "WHARF_DATA": noCA}, nil, true, nil},
		{"default https with generated CA", map[string]string{"WHARF_ADDR": hostPort(secure), "WHARF_DATA": withCA}, nil, true, nil},
		{"default tls off ignores a CA", map[string]string{"WHARF_ADDR": hostPort(plain), "WHARF_DATA": withCA, "WHARF_TLS": "off"}, nil, true, nil},
		{"default tls auto without CA yet", map[string]string{"WHARF_ADDR": hostPort(secure), "WHARF_DATA": noCA, "WHARF_TLS": "auto"}, nil, false, []string{"ca.crt does not exist"}},
		{"default wrong scheme", map[string]string{"WHARF_ADDR": hostPort(secure), "WHARF_DATA": noCA}, nil, false, []string{"400 Bad Request"}},
		{"addr, data and tls from the config file", map[string]string{"WHARF_CONFIG": fromFile}, nil, true, nil},
		{"tls off in the file ignores a CA", map[string]string{"WHARF_CONFIG": tlsOffFile, "WHARF_DATA": withCA}, nil, true, nil},
		{"the environment wins over the file", map[string]string{"WHARF_CONFIG": tlsOffFile, "WHARF_ADDR": "127.0.0.1:0"}, nil, false, []string{"pass --url", "WHARF_ADDR"}},
		{"a broken config file", map[string]string{"WHARF_CONFIG": configFile("adr: x\nlog: {level: loud}\n")}, nil, false,
			[]string{"invalid configuration", `unknown key "adr"`, "log.level"}},
		{"bad addr", map[string]string{"WHARF_ADDR": "5000"}, nil, false, []string{"WHARF_ADDR", "5000"}},
		{"random port", map[string]string{"WHARF_ADDR": "127.0.0.1:0"}, nil, false, []string{"pass --url"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"WHARF_CONFIG", "WHARF_ADDR", "WHARF_DATA", "WHARF_TLS"} {
				t.Setenv(k, tc.env[k])
			}
			code, stderr := runHealth(t, tc.args...)
			if tc.ok {
				if code != 0 {
					t.Fatalf("exit %d, want 0; stderr: %s", code, stderr)
				}
				return
			}
			if code == 0 {
				t.Fatal("exit 0, want failure")
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
				t.Errorf("want a one-line reason, got %d lines:\n%s", n+1, stderr)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr does not mention %q: %s", s, stderr)
				}
			}
		})
	}
}

func TestHealthTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	f := healthFlags{url: slow.URL + "/healthz", timeout: 200 * time.Millisecond}
	start := time.Now()
	err := f.check(t.Context(), &bytes.Buffer{}, config.Default())
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("check = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("check took %v with a 200ms timeout", d)
	}
}

func TestDefaultHealthURL(t *testing.T) {
	t.Parallel()
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "ca.crt")
	for _, tc := range []struct {
		addr, mode, ca, want string
	}{
		{":5000", "", missing, "http://127.0.0.1:5000/healthz"},
		{":5000", "", ca, "https://127.0.0.1:5000/healthz"},
		{"0.0.0.0:443", "files", missing, "https://127.0.0.1:443/healthz"},
		{"[::]:5000", "off", ca, "http://127.0.0.1:5000/healthz"},
		{"[::1]:5001", "", missing, "http://[::1]:5001/healthz"},
		{"10.1.2.3:5000", "auto", ca, "https://10.1.2.3:5000/healthz"},
	} {
		got, err := defaultHealthURL(tc.addr, "a test", tc.mode, tc.ca)
		if err != nil || got != tc.want {
			t.Errorf("defaultHealthURL(%q, %q, ca exists %v) = %q, %v; want %q", tc.addr, tc.mode, tc.ca == ca, got, err, tc.want)
		}
	}
}
