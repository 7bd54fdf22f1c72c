package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"wharf/internal/config"
	"wharf/internal/datadir"
)

// TestAdminAPIWiring starts the composed server of `wharf serve` and
// checks that the admin API is mounted with the token endpoint's own
// logins: a token for admin:api:* from /auth/token lets the built-in admin
// in, and the names the CLI refuses are refused here too.
func TestAdminAPIWiring(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	srv, adminPW := startComposed(t, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// The generated password is in a file only its owner reads, never in
	// the log.
	file := datadir.New(cfg.Data).AdminPassword()
	if b, err := os.ReadFile(file); err != nil || strings.TrimSpace(string(b)) != adminPW {
		t.Errorf("%s holds %q, %v; want the generated password", file, b, err)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, %v; want 0600", file, info.Mode(), err)
	}

	get := func(method, path, authz, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}

	res := get("GET", "/api/v1/users", "", "")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", res.StatusCode)
	}
	want := `Bearer realm="` + srv.URL + `/auth/token",service="wharf",scope="admin:api:*"`
	if got := res.Header.Values("WWW-Authenticate"); len(got) != 2 || got[0] != want {
		t.Errorf("challenges %q; want first %q", got, want)
	}

	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/auth/token?service=wharf&scope=admin:api:*", nil)
	req.SetBasicAuth("admin", adminPW)
	tr, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(tr.Body).Decode(&tok)
	tr.Body.Close()
	if err != nil || tok.Token == "" {
		t.Fatalf("token for admin:api:*: %d %v", tr.StatusCode, err)
	}
	bearer := "Bearer " + tok.Token
	if res := get("GET", "/api/v1/users", bearer, ""); res.StatusCode != http.StatusOK {
		t.Errorf("admin's token: %d", res.StatusCode)
	}
	if res := get("POST", "/api/v1/users", bearer, `{"name": "admin", "password": "a long enough password"}`); res.StatusCode != http.StatusConflict {
		t.Errorf("another user named admin: %d; want 409 (the built-in admin is one already)", res.StatusCode)
	}
	if res := get("POST", "/api/v1/users", bearer, `{"name": "alice", "robot": true}`); res.StatusCode != http.StatusCreated {
		t.Errorf("creating alice: %d", res.StatusCode)
	}
	req, _ = http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/v1/users/alice", nil)
	req.SetBasicAuth("admin", adminPW)
	if res, err := srv.Client().Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("Basic as admin: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

// startComposed serves the composed server of cfg (the token server's
// defaults) on a test listener and returns it with the first-start admin
// password it printed.
func startComposed(t *testing.T, cfg config.Config, log *slog.Logger) (*httptest.Server, string) {
	t.Helper()
	_, srv, pw := startComposedServer(t, cfg, log)
	return srv, pw
}

// startComposedServer is startComposed that also returns the Server.
func startComposedServer(t *testing.T, cfg config.Config, log *slog.Logger) (*Server, *httptest.Server, string) {
	t.Helper()
	var console strings.Builder
	s, err := New(t.Context(), cfg, log, &console)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	srv := httptest.NewServer(s.http.Handler)
	t.Cleanup(srv.Close)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(console.String())
	if m == nil {
		t.Fatalf("no admin password on the console:\n%s", console.String())
	}
	return s, srv, m[1]
}

// TestAdminAPINotServed: without the token server (auth htpasswd or none)
// there is no admin API.
func TestAdminAPINotServed(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.Auth = "none"
	s, err := New(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	rec := httptest.NewRecorder()
	s.http.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/users", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("auth none: /api/v1/users answered %d; want 404", rec.Code)
	}
}
