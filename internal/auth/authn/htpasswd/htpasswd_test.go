package htpasswd_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/authn/htpasswd"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newHtpasswd(t *testing.T, f authntest.Fixture) authn.Authenticator {
	var b strings.Builder
	b.WriteString("# made by the conformance suite\n\n")
	for _, u := range f.Users {
		b.WriteString(u.Name + ":" + u.Hash + "\n")
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	write(t, path, b.String())
	a, err := htpasswd.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestConformance(t *testing.T) {
	authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Confirms: true}, newHtpasswd)
}

// Not parallel: it fills the process's password gate.
func TestFullPasswordGate(t *testing.T) {
	authntest.RunFullGate(t, newHtpasswd)
}

// Lines made by Apache's htpasswd (Debian apache2-utils).
const (
	alice = "alice:$2y$05$RvbeaaM9yqWY3LKIXO7Unu/BoFtmKwBrGhcB4HUTsUbNO2bWBUV7e" // s3cret:pw
	bob   = "bob:$2y$04$3c4xCD3Q0KakK9sVlYXWC.m9il3piE66QrmdE0eTEU1HytdFG/XUG"   // hunter2
)

func TestParse(t *testing.T) {
	t.Parallel()
	users, err := htpasswd.Parse(strings.NewReader("# comment\n\n  " + alice + "  \r\n" + bob + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, slices.Sorted(maps.Keys(users))); diff != "" {
		t.Error(diff)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, content string
		want          []string
	}{
		{"apr1", alice + "\ncarol:$apr1$wnnc.VS3$jPQ.v/.ZKZTyV3Yj6/y.M/\n", []string{"line 2", `user "carol"`, "Apache MD5 ($apr1$)", "only bcrypt"}},
		{"sha1", "dave:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=", []string{"line 1", "SHA-1"}},
		{"crypt", "erin:DMe.1N372nihY", []string{"DES-crypt"}},
		{"plain", "frank:pw", []string{"plain-text password"}},
		{"sha512", "gina:$6$rRu0ctudfVAeh1xs$sjlMx9iLGgUn9hgM0j/UT.osaCjJ/7ifTnuKvnGqP5MWIpTbM4jIAwIjcN5C1igH3Lft7vkh9s0M01UHdQArX.", []string{"SHA-512-crypt"}},
		{"no colon", "just a line", []string{"line 1", "not user:hash"}},
		{"empty user", ":$2y$05$RvbeaaM9yqWY3LKIXO7Unu/BoFtmKwBrGhcB4HUTsUbNO2bWBUV7e", []string{"empty user name"}},
		{"repeated", alice + "\n" + alice, []string{"line 2", `user "alice" repeated (first on line 1)`}},
		{"every line", "a:pw\nb:pw\n", []string{"line 1", "line 2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := htpasswd.Parse(strings.NewReader(tc.content))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "$apr1$wnnc") || strings.Contains(err.Error(), ":pw") {
				t.Errorf("error %q reveals a hash or password", err)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := htpasswd.New(filepath.Join(dir, "missing"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	write(t, bad, "frank:pw\n")
	if _, err := htpasswd.New(bad, nil); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad file: %v", err)
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "htpasswd")
	write(t, path, alice+"\n")
	var logs bytes.Buffer
	a, err := htpasswd.New(path, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stamps := map[string]string{} // the last login's, by user
	check := func(step, user, pw string, want authn.Result, wantErr bool) {
		t.Helper()
		res, labels, err := a.Authenticate(ctx, user, auth.Secret(pw))
		stamp := authn.TakeStamp(labels)
		if res != want || (err != nil) != wantErr || len(labels) != 0 || (res == authn.Accepted) != (stamp != "") {
			t.Fatalf("%s: %s: %v, %v, %v; want %v (error %v)", step, user, res, labels, err, want, wantErr)
		}
		if stamp != "" {
			stamps[user] = stamp
		}
	}
	confirm := func(step, user string, want authn.Result) {
		t.Helper()
		if res, _, err := a.Confirm(ctx, user, stamps[user]); res != want || err != nil {
			t.Fatalf("%s: Confirm(%s) = %v, %v; want %v", step, user, res, err, want)
		}
	}
	check("start", "alice", "s3cret:pw", authn.Accepted, false)
	confirm("start", "alice", authn.Accepted)
	check("start", "bob", "hunter2", authn.NoMatch, false)

	// Rewritten in place (same inode) with a new user.
	write(t, path, alice+"\n"+bob+"\n")
	touch(t, path, time.Now().Add(time.Second))
	check("bob added", "bob", "hunter2", authn.Accepted, false)
	if a.Users() != 2 {
		t.Errorf("Users = %d", a.Users())
	}

	// Replaced by rename, the way editors and config managers do it; same
	// size and, forced here, the same mtime: the inode tells.
	next := filepath.Join(dir, "next")
	write(t, next, bob+"\n"+strings.Replace(alice, "alice", "carol", 1)+"\n")
	info, _ := os.Stat(path)
	touch(t, next, info.ModTime())
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	check("renamed", "alice", "s3cret:pw", authn.NoMatch, false)
	check("renamed", "carol", "s3cret:pw", authn.Accepted, false)
	// A session of a removed user ends.
	confirm("renamed", "alice", authn.WrongPassword)
	confirm("renamed", "bob", authn.Accepted)

	// A changed password ends the sessions opened with the old one.
	write(t, path, strings.Replace(alice, "alice", "bob", 1)+"\n")
	touch(t, path, time.Now().Add(time.Second+time.Second/2))
	confirm("bob's password changed", "bob", authn.WrongPassword)

	// A broken file fails logins instead of serving stale users, and is
	// picked up again once fixed.
	write(t, path, bob+"\nfrank:plain\n")
	touch(t, path, time.Now().Add(2*time.Second))
	check("broken", "bob", "hunter2", authn.WrongPassword, true)
	write(t, path, bob+"\n")
	touch(t, path, time.Now().Add(3*time.Second))
	check("fixed", "bob", "hunter2", authn.Accepted, false)

	// A removed file fails logins.
	os.Remove(path)
	check("removed", "bob", "hunter2", authn.WrongPassword, true)

	if !strings.Contains(logs.String(), "htpasswd file reloaded") {
		t.Errorf("no reload logged: %s", logs.String())
	}
}

func touch(t *testing.T, path string, mtime time.Time) {
	t.Helper()
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}
