package adminuser_test

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/accounts"
	"wharf/internal/adminuser"
	"wharf/internal/auth"
	"wharf/internal/auth/password"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// service opens a fresh account database with wharf serve's built-in admin.
func service(t *testing.T) *accounts.Service {
	t.Helper()
	store, err := metadata.Open(t.Context(), "sqlite", datadir.New(t.TempDir()).Database(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return accounts.NewService(store, accounts.Options{Cost: bcrypt.MinCost, Builtin: adminuser.Name})
}

// checks reports whether the admin in the database accepts pw.
func checks(t *testing.T, svc *accounts.Service, pw string) bool {
	t.Helper()
	hash, err := svc.PasswordHash(t.Context(), adminuser.Name)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := password.Verify(t.Context(), hash, auth.Secret(pw))
	return err == nil && ok
}

func TestBootstrapFromTheEnvironment(t *testing.T) {
	t.Parallel()
	svc, dir := service(t), datadir.New(t.TempDir())
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := adminuser.Bootstrap(t.Context(), svc, dir, adminuser.BootstrapOptions{Password: "first admin password", Log: log}); err != nil {
		t.Fatal(err)
	}
	if !checks(t, svc, "first admin password") {
		t.Error("the admin does not have the password from the environment")
	}
	if _, err := os.Stat(dir.AdminPassword()); !os.IsNotExist(err) {
		t.Errorf("a password file was written for a password from the environment: %v", err)
	}
	// The variable sets the first password only, and says so when it
	// differs from the current one, without the value.
	logs.Reset()
	if err := adminuser.Bootstrap(t.Context(), svc, dir, adminuser.BootstrapOptions{Password: "another admin password", Log: log}); err != nil {
		t.Fatal(err)
	}
	if !checks(t, svc, "first admin password") || !strings.Contains(logs.String(), "wharf user passwd admin") || strings.Contains(logs.String(), "another admin password") {
		t.Errorf("a second start changed the password, or did not say how to: %s", logs.String())
	}
	logs.Reset()
	if err := adminuser.Bootstrap(t.Context(), svc, dir, adminuser.BootstrapOptions{Password: "first admin password", Log: log}); err != nil || logs.Len() != 0 {
		t.Errorf("the same password again: %v, %q; want nothing said", err, logs.String())
	}
}

func TestBootstrapGenerates(t *testing.T) {
	t.Parallel()
	for _, watched := range []bool{false, true} {
		svc, dir := service(t), datadir.New(t.TempDir())
		var logs, term bytes.Buffer
		opts := adminuser.BootstrapOptions{Log: slog.New(slog.NewTextHandler(&logs, nil))}
		if watched {
			opts.Terminal = &term
		}
		if err := adminuser.Bootstrap(t.Context(), svc, dir, opts); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(dir.AdminPassword())
		pw := strings.TrimSpace(string(b))
		if err != nil || len(pw) < 20 || !checks(t, svc, pw) {
			t.Fatalf("password file: %q, %v", b, err)
		}
		if info, err := os.Stat(dir.AdminPassword()); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", dir.AdminPassword(), info.Mode(), err)
		}
		if strings.Contains(logs.String(), pw) || !strings.Contains(logs.String(), dir.AdminPassword()) {
			t.Errorf("the log shows the password, or not where it is: %s", logs.String())
		}
		if strings.Contains(term.String(), pw) != watched {
			t.Errorf("terminal %v: printed %q", watched, term.String())
		}
		if _, err := os.Stat(dir.AdminHash()); !os.IsNotExist(err) {
			t.Errorf("the hash file of earlier releases was written: %v", err)
		}
	}
}

// A data directory of earlier releases: the hash file is moved into the
// database once, with its password, and renamed; WHARF_ADMIN_PASSWORD
// does not replace it.
func TestBootstrapMigrates(t *testing.T) {
	t.Parallel()
	svc, dir := service(t), datadir.New(t.TempDir())
	hash, err := bcrypt.GenerateFromPassword([]byte("the old admin password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.CreateAuth(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir.AdminHash(), []byte(adminuser.Name+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := adminuser.Bootstrap(t.Context(), svc, dir, adminuser.BootstrapOptions{Password: "a new admin password", Log: log}); err != nil {
		t.Fatal(err)
	}
	if !checks(t, svc, "the old admin password") {
		t.Error("the admin lost its password in the move")
	}
	for _, want := range []string{"moved the admin account", "WHARF_ADMIN_PASSWORD is not applied"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %q: %s", want, logs.String())
		}
	}
	if _, err := os.Stat(dir.AdminHash()); !os.IsNotExist(err) {
		t.Errorf("the old file is still in place: %v", err)
	}
	if _, err := os.Stat(dir.AdminHashMigrated()); err != nil {
		t.Errorf("the old file was not kept as %s: %v", dir.AdminHashMigrated(), err)
	}
	if _, err := os.Stat(dir.AdminPassword()); !os.IsNotExist(err) {
		t.Errorf("a password was generated beside the moved account: %v", err)
	}

	// The file back (a backup restored): it is not read, and the log says so.
	if err := os.Rename(dir.AdminHashMigrated(), dir.AdminHash()); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if err := adminuser.Bootstrap(t.Context(), svc, dir, adminuser.BootstrapOptions{Log: log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "this file is not read") {
		t.Errorf("a stale hash file was not reported: %s", logs.String())
	}

	// A file without an admin entry stops the start with a fix.
	svc2, dir2 := service(t), datadir.New(t.TempDir())
	if err := dir2.CreateAuth(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir2.AdminHash(), []byte("bob:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := adminuser.Bootstrap(t.Context(), svc2, dir2, adminuser.BootstrapOptions{}); err == nil || !strings.Contains(err.Error(), "no admin entry") {
		t.Errorf("a file without admin: %v", err)
	}
}

func TestPasswordChanged(t *testing.T) {
	t.Parallel()
	svc, dir := service(t), datadir.New(t.TempDir())
	if err := adminuser.Bootstrap(t.Context(), svc, dir, adminuser.BootstrapOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := adminuser.PasswordChanged(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir.AdminPassword()); !os.IsNotExist(err) {
		t.Errorf("the generated password's file is still there: %v", err)
	}
	if err := adminuser.PasswordChanged(dir); err != nil {
		t.Errorf("a second time: %v", err)
	}
}
