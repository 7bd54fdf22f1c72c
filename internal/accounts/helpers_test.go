package accounts_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authz"
	"wharf/internal/metadata"
)

// open opens a fresh database file and returns it with its path.
func open(t *testing.T) (*metadata.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wharf.db")
	return openPath(t, path), path
}

func openPath(t *testing.T, path string) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), "sqlite", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func str(s string) *string { return &s }

// clock is a settable time for expiry tests.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// env is a database with the token server's view of it: the
// authenticator, and a configured ACL (admin may do anything) then the
// database's, under the guard.
type env struct {
	store *metadata.Store
	svc   *accounts.Service
	live  *accounts.Live
	users *accounts.Authenticator
	guard *accounts.Guard
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, _ := open(t)
	c := &clock{now: time.Now()}
	e := &env{store: store, svc: accounts.NewService(store, accounts.Options{Cost: 4, Now: c.Now}), clock: c}
	e.live = accounts.NewLive(store, accounts.LiveOptions{Now: c.Now})
	e.users = accounts.NewAuthenticator(e.live)
	static, err := authz.New([]authz.Rule{{Match: authz.Match{Account: str("admin")}, Actions: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.guard = accounts.NewGuard(authz.Chain{static, accounts.NewACL(e.live)}, e.live, nil)
	return e
}

func (e *env) must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// want authenticates and checks the answer.
func (e *env) want(t *testing.T, user string, pw auth.Secret, want authn.Result) auth.Labels {
	t.Helper()
	res, labels, err := e.users.Authenticate(t.Context(), user, pw)
	if err != nil || res != want {
		t.Fatalf("Authenticate(%q) = %v, %v; want %v", user, res, err, want)
	}
	return labels
}

// login authenticates and returns the identity the token server would.
func (e *env) login(t *testing.T, user string, pw auth.Secret) auth.Identity {
	t.Helper()
	return auth.Identity{Account: user, Labels: e.want(t, user, pw, authn.Accepted)}
}

// grant asks the guard for scope and returns the allowed actions.
func (e *env) grant(t *testing.T, id auth.Identity, scope string) []string {
	t.Helper()
	a, err := auth.ParseScope(scope)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.guard.Authorize(t.Context(), auth.Request{Identity: id, Service: "wharf", Access: a})
	if err != nil && err != authz.ErrNoMatch {
		t.Fatalf("Authorize(%s, %s): %v", id.Account, scope, err)
	}
	return got
}

func (e *env) wantGrant(t *testing.T, id auth.Identity, scope string, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, e.grant(t, id, scope), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s %s (-want +got):\n%s", id.Account, scope, diff)
	}
}
