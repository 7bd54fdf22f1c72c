package authstack

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wharf/internal/config"
	"wharf/internal/datadir"
)

// signInSections are the browser sign-ins and their page.
var signInSections = []string{"google_auth", "github_auth", "oidc_auth", "gitlab_auth", "sign-in page"}

func TestSignInsAbsent(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	si, closers, err := buildSome(context.Background(), cfg, slog.New(slog.DiscardHandler), signInSections...)
	if err != nil || len(si.authn) != 0 || len(si.routes) != 0 || len(closers) != 0 {
		t.Fatalf("%+v, %v, %v; want nothing", si, closers, err)
	}
	if _, err := os.Stat(datadir.New(cfg.Data).Auth()); !os.IsNotExist(err) {
		t.Errorf("a store was created without sign-ins: %v", err)
	}
}

func TestSignInsSetup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gh := func(change func(*config.GitHubAuth)) config.Config {
		c := config.Default()
		c.Data = t.TempDir()
		g := &config.GitHubAuth{OAuthLogin: config.OAuthLogin{ClientID: "id", ClientSecretFile: secret}}
		change(g)
		c.GitHubAuth = g
		return c
	}
	for _, tc := range []struct {
		name   string
		change func(*config.GitHubAuth)
		want   string
	}{
		{"missing secret", func(g *config.GitHubAuth) { g.ClientSecretFile = filepath.Join(dir, "nope") }, "github_auth.client_secret_file"},
		{"reserved path", func(g *config.GitHubAuth) { g.RedirectURL = "https://r.example.com/auth/token" }, "github_auth.redirect_url"},
	} {
		if _, _, err := buildSome(context.Background(), gh(tc.change), slog.New(slog.DiscardHandler), signInSections...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error naming %s", tc.name, err, tc.want)
		}
	}
	si, closers, err := buildSome(context.Background(), gh(func(g *config.GitHubAuth) { g.RedirectURL = "https://r.example.com/oauth/github" }),
		slog.New(slog.DiscardHandler), signInSections...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closers.Close() })
	mux := http.NewServeMux()
	for _, r := range si.routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	for _, p := range []string{"/auth/login", "/auth/github/login", "/github_auth"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://r.example.com"+p, nil))
		if p == "/auth/login" {
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "/auth/github/login") {
				t.Errorf("%s: %d\n%s", p, rec.Code, rec.Body)
			}
			continue
		}
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusFound || !strings.HasPrefix(loc, config.DefaultGitHubWebURI+"/login/oauth/authorize?") ||
			!strings.Contains(loc, "code_challenge_method=S256") || !strings.Contains(loc, "redirect_uri=https%3A%2F%2Fr.example.com%2Foauth%2Fgithub") {
			t.Errorf("%s: %d to %s", p, rec.Code, loc)
		}
		if c := rec.Header().Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
			t.Errorf("%s: cookie %q", p, c)
		}
	}
	// The redirect_url's own path is a callback.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://r.example.com/oauth/github?code=x&state=y", nil))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("a callback without the cookie: %d", rec.Code)
	}
}
