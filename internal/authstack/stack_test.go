package authstack

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/signin"
	"wharf/internal/config"
	"wharf/internal/datadir"
)

// fakeAuthn and fakeAuthz are backends known by name only.
type fakeAuthn struct{ name string }

func (f fakeAuthn) Name() string { return f.name }
func (f fakeAuthn) Authenticate(context.Context, string, auth.Secret) (authn.Result, auth.Labels, error) {
	return authn.NoMatch, nil, nil
}

type fakeAuthz struct{ name string }

func (f fakeAuthz) Name() string { return f.name }
func (f fakeAuthz) Authorize(context.Context, auth.Request) ([]string, error) {
	return nil, authz.ErrNoMatch
}

// recorder notes what the fake constructors built and closed, in order.
type recorder struct {
	built, closed []string
}

// fake is a constructor that opens something named name (an
// authenticator, an authorizer, both or neither) or fails.
func (r *recorder) fake(name, gives string, fail bool) constructor {
	return constructor{name: name, build: func(context.Context, *builder) (Backend, io.Closer, error) {
		if fail {
			return Backend{}, nil, errors.New(name + ": refused")
		}
		r.built = append(r.built, name)
		var be Backend
		if strings.Contains(gives, "n") {
			be.Authn = fakeAuthn{name}
		}
		if strings.Contains(gives, "z") {
			be.Authz = fakeAuthz{name}
		}
		if gives == "" { // a section that is absent: nothing to close
			return be, nil, nil
		}
		return be, closerFunc(func() error { r.closed = append(r.closed, name); return nil }), nil
	}}
}

// TestAssembleClosesOnFailure: a constructor that fails midway leaves
// nothing open: what the constructors before it opened is closed, last
// opened first, and those after it never run.
func TestAssembleClosesOnFailure(t *testing.T) {
	t.Parallel()
	var r recorder
	table := []constructor{
		r.fake("users", "n", false),
		r.fake("acl", "z", false),
		r.fake("absent", "", false),
		r.fake("database", "nz", false),
		r.fake("ldap_auth", "n", true),
		r.fake("ext_auth", "n", false),
	}
	b := &builder{log: slog.New(slog.DiscardHandler)}
	got, closers, err := assemble(t.Context(), b, table)
	if err == nil || !strings.Contains(err.Error(), "ldap_auth: refused") {
		t.Fatalf("assemble: %v; want ldap_auth's error", err)
	}
	if got.authn != nil || closers != nil {
		t.Errorf("a failed assembly returned chains %v or closers %v", got, closers)
	}
	if diff := cmp.Diff([]string{"users", "acl", "absent", "database"}, r.built); diff != "" {
		t.Errorf("built (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"database", "acl", "users"}, r.closed); diff != "" {
		t.Errorf("closed (-want +got):\n%s", diff)
	}
}

// TestAssembleOrderAndClose: the chains keep the table's order, one list
// of authenticators and one of authorizers, and Close closes every
// backend once, last opened first.
func TestAssembleOrderAndClose(t *testing.T) {
	t.Parallel()
	var r recorder
	table := []constructor{
		r.fake("users", "n", false),
		r.fake("acl", "z", false),
		r.fake("database", "nz", false),
		r.fake("absent", "", false),
		r.fake("acl_mongo", "z", false),
		r.fake("ext_auth", "n", false),
	}
	b := &builder{log: slog.New(slog.DiscardHandler)}
	got, closers, err := assemble(t.Context(), b, table)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range got.authn {
		names = append(names, a.Name())
	}
	names = append(names, "|")
	for _, a := range got.authz {
		names = append(names, a.Name())
	}
	if diff := cmp.Diff([]string{"users", "database", "ext_auth", "|", "acl", "database", "acl_mongo"}, names); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
	if len(r.closed) != 0 {
		t.Fatalf("closed %v before Close", r.closed)
	}
	s := &Stack{closers: closers}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // a second Close closes nothing again
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ext_auth", "acl_mongo", "database", "acl", "users"}, r.closed); diff != "" {
		t.Errorf("closed (-want +got):\n%s", diff)
	}
}

// TestCloserStackJoinsErrors: one closer failing does not keep the others
// open, and its error is returned.
func TestCloserStackJoinsErrors(t *testing.T) {
	t.Parallel()
	var closed []int
	var s closerStack
	for i := range 3 {
		s.push(closerFunc(func() error {
			closed = append(closed, i)
			if i == 1 {
				return errors.New("second: close failed")
			}
			return nil
		}))
	}
	s.push(nil)
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "second: close failed") {
		t.Errorf("Close: %v; want the failing closer's error", err)
	}
	if !slices.Equal(closed, []int{2, 1, 0}) {
		t.Errorf("closed %v; want [2 1 0]", closed)
	}
}

// TestTableOrder pins docker_auth's order of the real table: a backend
// moved in it changes which one answers a login or a scope first.
func TestTableOrder(t *testing.T) {
	t.Parallel()
	var names []string
	for _, c := range backends {
		names = append(names, c.name)
	}
	want := []string{"users", "acl", "database", "google_auth", "github_auth", "oidc_auth", "gitlab_auth", "sign-in page",
		"ldap_auth", "mongo_auth", "acl_mongo", "xorm_auth", "acl_xorm", "ext_auth", "webhook_auth", "ext_authz", "webhook_authz"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

// TestBuildFailureClosesOpened builds a real stack whose last backend
// fails (webhook_authz's CA file is missing) after a browser sign-in
// imported an earlier release's <data>/auth/sign-ins.db: Build returns the
// error and leaves no descriptor of the file open; the import happened
// once (the record is in the metadata database, the file renamed
// *.imported), and the same configuration without the failing section
// builds and closes.
func TestBuildFailureClosesOpened(t *testing.T) {
	t.Parallel()
	meta := openTestMetadata(t)
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.GitHubAuth = &config.GitHubAuth{OAuthLogin: config.OAuthLogin{ClientID: "id", ClientSecret: "s3cret"}}
	cfg.WebhookAuthz = &config.Webhook{URL: "https://hooks.internal/authz", CACertificate: filepath.Join(cfg.Data, "missing-ca.pem")}
	dir := datadir.New(cfg.Data)
	if err := dir.CreateAuth(); err != nil {
		t.Fatal(err)
	}
	store := dir.SignIns()
	old, err := signin.OpenSQLite(t.Context(), store)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(time.Now().Unix(), 0)
	rec := signin.Record{Backend: "github", Account: "alice", PasswordHash: sha256.Sum256([]byte("pw")), Labels: auth.Labels{"group": {"dev"}},
		Created: now, RevalidateAt: now.Add(time.Hour), ExpiresAt: now.Add(24 * time.Hour)}
	if err := old.Put(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	old.Close()
	_, err = Build(t.Context(), cfg, Options{Meta: meta, Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "webhook_authz.ca_certificate") {
		t.Fatalf("Build: %v; want webhook_authz's error", err)
	}
	if n := openDescriptors(t, store); n != 0 {
		t.Errorf("after the failed Build, %d descriptors of %s are open; want 0", n, store)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the import: %v", store, err)
	}
	if _, err := os.Stat(dir.SignInsImported()); err != nil {
		t.Errorf("the imported file was not renamed: %v", err)
	}
	got, err := signIns{meta: meta}.Get(t.Context(), "github", "alice")
	if err != nil || got.PasswordHash != rec.PasswordHash || !got.ExpiresAt.Equal(rec.ExpiresAt) || got.Labels["group"][0] != "dev" {
		t.Fatalf("imported sign-in = %+v, %v; want %+v", got, err, rec)
	}
	cfg.WebhookAuthz = nil
	s, err := Build(t.Context(), cfg, Options{Meta: meta, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Build without the failing section: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// openDescriptors counts this process's open files that are path or its
// SQLite companions (-wal, -shm, -journal).
func openDescriptors(t *testing.T, path string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("listing open files: %v", err)
	}
	n := 0
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(target, path) {
			n++
		}
	}
	return n
}
