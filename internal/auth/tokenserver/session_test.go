package tokenserver_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/htpasswd"
	"wharf/internal/metadata"
)

// external is an authenticator that cannot confirm sessions (ext_auth,
// webhook_auth): it admits dave with a label.
type external struct{}

func (external) Authenticate(_ context.Context, user string, pw auth.Secret) (authn.Result, auth.Labels, error) {
	switch {
	case user != "dave":
		return authn.NoMatch, nil, nil
	case pw != "dave-pw":
		return authn.WrongPassword, nil, nil
	}
	return authn.Accepted, auth.Labels{"team": {"ops"}}, nil
}

func (external) Name() string { return "ext_auth" }

// writeHtpasswd writes carol's entry with password pw to path.
func writeHtpasswd(t *testing.T, path, pw string, at time.Time) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("carol:"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// login is docker login's token request: it returns the refresh token.
func (f *fixture) login(t *testing.T, user, pw string) string {
	t.Helper()
	a := f.get(t, user, pw, q("service", "registry", "offline_token", "true", "client_id", "docker"))
	rt, _ := a.body["refresh_token"].(string)
	if a.status != http.StatusOK || rt == "" {
		t.Fatalf("login %s: %d %v", user, a.status, a.body)
	}
	return rt
}

func (f *fixture) refresh(t *testing.T, rt, scope string) answer {
	t.Helper()
	return f.post(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "service": {"registry"}, "scope": {scope}})
}

// TestSessionsEndWhenAccessEnds: each refresh asks the backend the account
// came from; a removed account or a changed password ends the session.
func TestSessionsEndWhenAccessEnds(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "htpasswd")
	start := time.Now().Add(-time.Hour)
	writeHtpasswd(t, path, "carol-pw", start)
	file, err := htpasswd.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, nil, file, external{})
	ctx := t.Context()

	carol := f.login(t, "carol", "carol-pw")
	a := f.refresh(t, carol, "repository:carol/app:push")
	if a.status != http.StatusOK || strings.Join(f.granted(t, a, "access_token", "carol/app"), ",") != "push" {
		t.Fatalf("refresh of a live session: %d %v", a.status, a.body)
	}
	sessions, err := f.meta.ListRefreshTokens(ctx, "carol", time.Now())
	if err != nil || len(sessions) != 1 || sessions[0].Source != "htpasswd" || sessions[0].Stamp == "" {
		t.Fatalf("carol's session: %+v, %v", sessions, err)
	}
	if left := time.Until(sessions[0].ExpiresAt); left < 89*24*time.Hour {
		t.Errorf("a confirmed session lives %v, want 90 days", left)
	}

	// The password changes: the session opened with the old one ends, and
	// is revoked, not just refused.
	writeHtpasswd(t, path, "carol-pw-2", start.Add(time.Minute))
	a = f.refresh(t, carol, "repository:carol/app:pull")
	if a.status != http.StatusUnauthorized || a.body["access_token"] != nil || !strings.Contains(a.body["details"].(string), "log in again") {
		t.Fatalf("refresh after a password change: %d %v; want 401", a.status, a.body)
	}
	if left, _ := f.meta.ListRefreshTokens(ctx, "carol", time.Now()); len(left) != 0 {
		t.Errorf("the ended session is still live: %+v", left)
	}

	// Removed from the file: a session opened with the new password ends.
	carol = f.login(t, "carol", "carol-pw-2")
	if a := f.refresh(t, carol, "repository:carol/app:pull"); a.status != http.StatusOK {
		t.Fatalf("refresh of the new session: %d %v", a.status, a.body)
	}
	if err := os.WriteFile(path, []byte("# nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a := f.refresh(t, carol, "repository:carol/app:pull"); a.status != http.StatusUnauthorized {
		t.Errorf("refresh after the account was removed: %d %v; want 401", a.status, a.body)
	}

	// A backend that cannot confirm: a shorter session with the labels of
	// its login; a backend error is no grant and keeps the session.
	dave := f.login(t, "dave", "dave-pw")
	sessions, _ = f.meta.ListRefreshTokens(ctx, "dave", time.Now())
	if len(sessions) != 1 || time.Until(sessions[0].ExpiresAt) > 24*time.Hour || sessions[0].Source != "ext_auth" {
		t.Fatalf("dave's session: %+v; want ext_auth, at most 24 hours", sessions)
	}
	if a := f.refresh(t, dave, "repository:dave/app:push"); a.status != http.StatusOK {
		t.Errorf("refresh of an unconfirmable session: %d %v", a.status, a.body)
	}
}

// A backend that cannot answer is no grant, and does not end the session.
func TestSessionBackendDown(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "htpasswd")
	writeHtpasswd(t, path, "carol-pw", time.Now().Add(-time.Hour))
	file, err := htpasswd.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, nil, file)
	carol := f.login(t, "carol", "carol-pw")
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if a := f.refresh(t, carol, "repository:carol/app:pull"); a.status != http.StatusServiceUnavailable || a.body["access_token"] != nil {
		t.Errorf("refresh while the backend cannot answer: %d %v; want 503", a.status, a.body)
	}
	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if a := f.refresh(t, carol, "repository:carol/app:pull"); a.status != http.StatusOK {
		t.Errorf("refresh once the backend answers again: %d %v; want 200", a.status, a.body)
	}
}

// The credential's stamp stays in the session: no token carries it, while
// the source and the token id are Wharf's claims.
func TestStampNeverLeavesTheSession(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := f.get(t, "test", "test-pw", q("service", "registry", "scope", "repository:private:pull"))
	raw, _ := a.body["token"].(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(payload), "stamp") {
		t.Errorf("the token carries the stamp: %s", payload)
	}
	c, err := f.verifier.Verify(raw)
	if err != nil || c.Source != "static" {
		t.Errorf("claims %+v, %v; want source static", c, err)
	}
}

// Sessions stored before sources were recorded: a database one keeps
// working (the authorizer reads the account live), any other ends.
func TestSessionsWithoutSource(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := t.Context()
	for tok, labels := range map[string]map[string][]string{
		"legacy-static":   nil,
		"legacy-database": {auth.LabelSource: {"database"}},
	} {
		if err := f.meta.CreateRefreshToken(ctx, tok, metadata.RefreshToken{Account: "test", Service: "registry", Labels: labels, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if a := f.refresh(t, "legacy-static", "repository:private:pull"); a.status != http.StatusUnauthorized {
		t.Errorf("a session of unknown source: %d %v; want 401", a.status, a.body)
	}
	if a := f.refresh(t, "legacy-database", "repository:private:pull"); a.status != http.StatusOK {
		t.Errorf("a database session of an earlier version: %d %v; want 200", a.status, a.body)
	}
}
