package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/adminuser"
	"wharf/internal/auth"
	"wharf/internal/auth/password"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// openData opens the database of a data directory the CLI made.
func openData(t *testing.T, data string) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), "sqlite", datadir.New(data).Database(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSessionCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustCLI(t, "", "session", "ls", "--data", data) // creates the database
	store := openData(t, data)
	ctx := t.Context()
	for tok, user := range map[string]string{"a1": "alice", "a2": "alice", "b1": "bob"} {
		if err := store.CreateRefreshToken(ctx, tok, metadata.RefreshToken{Account: user, Source: "ldap", ClientID: "docker", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var list []accounts.SessionView
	if err := json.Unmarshal([]byte(mustCLI(t, "", "session", "ls", "--json", "--data", data)), &list); err != nil || len(list) != 3 {
		t.Fatalf("session ls --json: %v, %v", list, err)
	}
	if out := mustCLI(t, "", "session", "ls", "--user", "bob", "--data", data); !strings.Contains(out, metadata.RefreshTokenID("b1")) ||
		strings.Contains(out, metadata.RefreshTokenID("a1")) || !strings.Contains(out, "ldap") {
		t.Errorf("session ls --user bob:\n%s", out)
	}
	if out := mustCLI(t, "", "session", "revoke", metadata.RefreshTokenID("a1"), "--data", data); !strings.Contains(out, "of alice") {
		t.Errorf("session revoke ID: %s", out)
	}
	if out := mustCLI(t, "", "session", "revoke", "--user", "alice", "--data", data); !strings.Contains(out, "ended 1 session(s) of alice") {
		t.Errorf("session revoke --user: %s", out)
	}
	wantFail(t, "", "exactly one of", "session", "revoke", "--data", data)
	wantFail(t, "", "exactly one of", "session", "revoke", "--all", "--user", "bob", "--data", data)
	wantFail(t, "", "not a session id", "session", "revoke", "zz", "--data", data)
	wantFail(t, "", "no such session", "session", "revoke", metadata.RefreshTokenID("a1"), "--data", data)
	if out := mustCLI(t, "", "session", "revoke", "--all", "--data", data); !strings.Contains(out, "ended 1 session(s)") {
		t.Errorf("session revoke --all: %s", out)
	}
	if left, _ := store.ListRefreshTokens(ctx, "", time.Now()); len(left) != 0 {
		t.Errorf("sessions left: %+v", left)
	}
}

// `wharf user passwd admin` changes the built-in admin's password, ends
// its sessions and moves the identity generation, which a running server
// watches.
func TestAdminPasswd(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mustCLI(t, "", "session", "ls", "--data", data)
	store := openData(t, data)
	ctx := t.Context()
	if err := store.CreateRefreshToken(ctx, "admin-session", metadata.RefreshToken{Account: "admin", Source: "static", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	gen, err := store.IdentityGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantFail(t, "short\n", "at least 12", "user", "passwd", "admin", "--password-stdin", "--data", data)
	out := mustCLI(t, "the new admin password\n", "user", "passwd", "admin", "--password-stdin", "--data", data)
	if !strings.Contains(out, "ended 1 docker login session") {
		t.Errorf("user passwd admin: %s", out)
	}
	hash, err := adminuser.Read(datadir.New(data).AdminHash())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.Verify(t.Context(), hash, auth.Secret("the new admin password")); err != nil || !ok {
		t.Errorf("the new password does not match the file: %v, %v", ok, err)
	}
	if _, err := store.UseRefreshToken(ctx, "admin-session", time.Now()); err == nil {
		t.Error("admin's session survived the password change")
	}
	if now, _ := store.IdentityGeneration(ctx); now == gen {
		t.Error("the identity generation did not move: a running server would not read the new password")
	}

	// An admin the configuration defines is changed there.
	cfg := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(cfg, []byte("users:\n  admin:\n    password: \"$2y$04$Jb8qz1H4/ZgVLhL8Bq1yreXeu9hiGPH4H0SjgdKm5NvfdVYyR2wW.\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFail(t, "the new admin password\n", "defined in the configuration", "user", "passwd", "admin", "--password-stdin", "--data", data, "--config", cfg)
}
