package adminuser_test

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"

	"wharf/internal/adminuser"
	"wharf/internal/auth"
	"wharf/internal/auth/password"
	"wharf/internal/datadir"
)

func env(v string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if name != adminuser.EnvPassword || v == "" {
			return "", false
		}
		return v, true
	}
}

// checks reports whether the admin's file accepts pw.
func checks(t *testing.T, dir datadir.Dir, pw string) bool {
	t.Helper()
	hash, err := adminuser.Read(dir.AdminHash())
	if err != nil {
		t.Fatal(err)
	}
	ok, err := password.Verify(t.Context(), hash, auth.Secret(pw))
	return err == nil && ok
}

func TestBootstrapFromTheEnvironment(t *testing.T) {
	t.Parallel()
	for _, bad := range []struct{ pw, want string }{
		{"short", "at least 12"},
		{`"quoted password"`, "quotes"},
		{"'quoted password'", "quotes"},
		{" leading space pw", "white space"},
	} {
		dir := datadir.New(t.TempDir())
		_, err := adminuser.Bootstrap(dir, adminuser.BootstrapOptions{Env: env(bad.pw), Cost: 4})
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), adminuser.EnvPassword) || strings.Contains(err.Error(), bad.pw) {
			t.Errorf("%q: %v; want an error naming %s and saying %q, without the password", bad.pw, err, adminuser.EnvPassword, bad.want)
		}
		if _, err := os.Stat(dir.AdminHash()); err == nil {
			t.Errorf("%q: the account was created", bad.pw)
		}
	}

	dir := datadir.New(t.TempDir())
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := adminuser.Bootstrap(dir, adminuser.BootstrapOptions{Env: env("first admin password"), Log: log, Cost: 4}); err != nil {
		t.Fatal(err)
	}
	if !checks(t, dir, "first admin password") {
		t.Error("the admin does not have the password from the environment")
	}
	// The variable sets the first password only, and says so when it
	// differs from the current one.
	logs.Reset()
	if _, err := adminuser.Bootstrap(dir, adminuser.BootstrapOptions{Env: env("another admin password"), Log: log, Cost: 4}); err != nil {
		t.Fatal(err)
	}
	if !checks(t, dir, "first admin password") || !strings.Contains(logs.String(), "wharf user passwd admin") {
		t.Errorf("a second start changed the password, or did not say how to: %s", logs.String())
	}
	logs.Reset()
	if _, err := adminuser.Bootstrap(dir, adminuser.BootstrapOptions{Env: env("first admin password"), Log: log, Cost: 4}); err != nil || logs.Len() != 0 {
		t.Errorf("the same password again: %v, %q; want nothing said", err, logs.String())
	}
}

func TestBootstrapGenerates(t *testing.T) {
	t.Parallel()
	for _, watched := range []bool{false, true} {
		dir := datadir.New(t.TempDir())
		var logs, term bytes.Buffer
		opts := adminuser.BootstrapOptions{Env: env(""), Log: slog.New(slog.NewTextHandler(&logs, nil)), Cost: 4}
		if watched {
			opts.Terminal = &term
		}
		if _, err := adminuser.Bootstrap(dir, opts); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(dir.AdminPassword())
		pw := strings.TrimSpace(string(b))
		if err != nil || len(pw) < 20 || !checks(t, dir, pw) {
			t.Fatalf("password file: %q, %v", b, err)
		}
		for _, f := range []string{dir.AdminPassword(), dir.AdminHash()} {
			if info, err := os.Stat(f); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, %v; want mode 0600", f, info.Mode(), err)
			}
		}
		if strings.Contains(logs.String(), pw) || !strings.Contains(logs.String(), dir.AdminPassword()) {
			t.Errorf("the log shows the password, or not where it is: %s", logs.String())
		}
		if strings.Contains(term.String(), pw) != watched {
			t.Errorf("terminal %v: printed %q", watched, term.String())
		}
	}
}

func TestSetPassword(t *testing.T) {
	t.Parallel()
	dir := datadir.New(t.TempDir())
	if _, err := adminuser.Bootstrap(dir, adminuser.BootstrapOptions{Env: env(""), Cost: 4}); err != nil {
		t.Fatal(err)
	}
	if err := adminuser.SetPassword(dir, "short", 4); err == nil || !checks(t, dir, strings.TrimSpace(readFile(t, dir.AdminPassword()))) {
		t.Errorf("a short password: %v; want refused, nothing changed", err)
	}
	if err := adminuser.SetPassword(dir, "the new admin password", 4); err != nil {
		t.Fatal(err)
	}
	if !checks(t, dir, "the new admin password") {
		t.Error("the new password does not work")
	}
	if _, err := os.Stat(dir.AdminPassword()); !os.IsNotExist(err) {
		t.Errorf("the generated password's file is still there: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
