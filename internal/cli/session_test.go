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

// wharf serve's built-in admin is a database account the user commands
// manage like any other: passwd (which gives it its first password before
// the first start), ls, disable and enable; it is never removed, and the
// last account that may administer is never disabled.
func TestBuiltinAdmin(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	d := func(args ...string) []string { return append(args, "--data", data) }
	dir := datadir.New(data)

	wantFail(t, "short\n", "at least 12", d("user", "passwd", "admin", "--password-stdin")...)
	if out := mustCLI(t, "first admin password\n", d("user", "passwd", "admin", "--password-stdin")...); !strings.Contains(out, "created the built-in administrator") {
		t.Errorf("user passwd admin before the first start: %s", out)
	}
	wantFail(t, "another password 1\n", "built-in administrator", d("user", "add", "admin", "--password-stdin")...)
	if out := mustCLI(t, "", d("user", "ls")...); !strings.Contains(out, "user (built-in admin)") {
		t.Errorf("user ls does not show the built-in admin:\n%s", out)
	}
	var users []accounts.UserView
	if err := json.Unmarshal([]byte(mustCLI(t, "", d("user", "ls", "--json")...)), &users); err != nil || len(users) != 1 || users[0].Name != "admin" || !users[0].Builtin {
		t.Errorf("user ls --json: %+v, %v", users, err)
	}

	// A new password ends admin's sessions and makes a generated first
	// password's file stale: it goes.
	store := openData(t, data)
	ctx := t.Context()
	if err := store.CreateRefreshToken(ctx, "admin-session", metadata.RefreshToken{Account: "admin", Source: "database", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := dir.CreateAuth(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.AdminPassword(), []byte("generated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "the new admin password\n", d("user", "passwd", "admin", "--password-stdin")...)
	u, err := store.GetUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.Verify(ctx, []byte(u.PasswordHash), auth.Secret("the new admin password")); err != nil || !ok {
		t.Errorf("the new password does not match the database: %v, %v", ok, err)
	}
	if _, err := store.UseRefreshToken(ctx, "admin-session", time.Now()); err == nil {
		t.Error("admin's session survived the password change")
	}
	if _, err := os.Stat(dir.AdminPassword()); !os.IsNotExist(err) {
		t.Errorf("the generated password's file survived the change: %v", err)
	}

	// The last administrator stays.
	wantFail(t, "", "wharf acl add --account ops --type admin", d("user", "disable", "admin")...)
	wantFail(t, "", "built-in administrator", d("user", "rm", "admin")...)
	mustCLI(t, "ops password 123\n", d("user", "add", "ops", "--password-stdin")...)
	mustCLI(t, "", d("user", "disable", "ops")...) // not an administrator
	mustCLI(t, "", d("acl", "add", "--account", "ops", "--type", "admin", "--name", "api", "--actions", "*")...)
	wantFail(t, "", "wharf user enable ops", d("user", "disable", "admin")...)
	mustCLI(t, "", d("user", "enable", "ops")...)
	mustCLI(t, "", d("user", "disable", "admin")...)
	wantFail(t, "", "only enabled one", d("user", "rm", "ops")...)
	mustCLI(t, "", d("user", "enable", "admin")...)
	mustCLI(t, "", d("user", "rm", "ops")...)

	// An admin the configuration defines is changed there.
	cfg := filepath.Join(t.TempDir(), "wharf.yml")
	if err := os.WriteFile(cfg, []byte("users:\n  admin:\n    password: \"$2y$04$Jb8qz1H4/ZgVLhL8Bq1yreXeu9hiGPH4H0SjgdKm5NvfdVYyR2wW.\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantFail(t, "the new admin password\n", "defined in the configuration", "user", "passwd", "admin", "--password-stdin", "--data", data, "--config", cfg)
}

// A data directory of earlier releases keeps the admin in a hash file: the
// account commands move it into the database, as wharf serve does, with
// its password.
func TestBuiltinAdminMigrates(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	dir := datadir.New(data)
	// The file is an htpasswd line, as hash-password prints it.
	line := mustCLI(t, "the old admin password\n", "hash-password", "--password-stdin", "--cost", "4", adminuser.Name)
	if err := dir.CreateAuth(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.AdminHash(), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runCLI(t, "", "user", "ls", "--data", data)
	if err != nil || !strings.Contains(errOut, "moved the admin account") {
		t.Errorf("user ls: %v; want the move logged:\n%s", err, errOut)
	}
	if out := mustCLI(t, "", "user", "ls", "--data", data); !strings.Contains(out, "admin") {
		t.Errorf("user ls after the move:\n%s", out)
	}
	if _, err := os.Stat(dir.AdminHash()); !os.IsNotExist(err) {
		t.Errorf("the old file is still in place: %v", err)
	}
	if _, err := os.Stat(dir.AdminHashMigrated()); err != nil {
		t.Errorf("the old file was not kept as %s: %v", dir.AdminHashMigrated(), err)
	}
	u, err := openData(t, data).GetUser(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.Verify(t.Context(), []byte(u.PasswordHash), "the old admin password"); err != nil || !ok {
		t.Errorf("admin in the database does not have the file's password: %v, %v", ok, err)
	}
}
