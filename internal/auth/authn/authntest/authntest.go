package authntest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/password"
	"wharf/internal/gate"
)

// User is a fixture user: its password in clear (for backends that need
// it, e.g. to seed an LDAP server) and as a bcrypt hash.
type User struct {
	Name     string
	Password string
	Hash     string // bcrypt ($2y$, as htpasswd -B writes) of Password, at the lowest cost
	Labels   auth.Labels
}

// Fixture is what a backend must hold for one subtest.
type Fixture struct {
	Users []User
	// Anonymous asks for the anonymous user "" to be admitted, with
	// AnonymousLabels (only when the Contract says the backend supports it).
	Anonymous       bool
	AnonymousLabels auth.Labels
}

// Contract states what a backend promises beyond the common rules.
type Contract struct {
	// UnknownUser is the answer for a user the backend does not hold:
	// authn.NoMatch for most backends (the chain asks the next one), or
	// authn.WrongPassword for a backend that owns every name.
	UnknownUser authn.Result
	// Labels: the backend returns the fixture users' labels.
	Labels bool
	// Anonymous: the backend can be told to admit the anonymous user.
	Anonymous bool
	// Confirms: the backend is an authn.Confirmer that can confirm the
	// fixture users' sessions (Confirm is then checked against logins).
	Confirms bool
	// ExtraLabels are labels the backend adds to every accepted user
	// (e.g. a marker of where the account comes from), expected on top of
	// the fixture's when Labels is set.
	ExtraLabels auth.Labels
}

// withExtra returns l with extra added.
func withExtra(l, extra auth.Labels) auth.Labels {
	if len(extra) == 0 {
		return l
	}
	out := authn.CloneLabels(l)
	if out == nil {
		out = auth.Labels{}
	}
	for k, v := range extra {
		out[k] = append(out[k], v...)
	}
	return out
}

// NewFunc builds a fresh backend holding the fixture.
type NewFunc func(t *testing.T, f Fixture) authn.Authenticator

// The fixture users: names and passwords with the characters that break
// naive parsers (":" in a password, non-ASCII, a 72-byte password, the
// longest bcrypt uses).
func users(t *testing.T) []User {
	t.Helper()
	list := []User{
		{Name: "alice", Password: "correct horse", Labels: auth.Labels{"group": {"dev", "web"}, "org": {"acme"}}},
		{Name: "bob", Password: "p@ss:word"},
		{Name: "zoë", Password: "pässwörd", Labels: auth.Labels{"group": {"ops"}}},
		{Name: "max.len@example.com", Password: strings.Repeat("x", 72)},
	}
	for i := range list {
		h, err := bcrypt.GenerateFromPassword([]byte(list[i].Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		list[i].Hash = "$2y$" + string(h[4:])
	}
	return list
}

// Run runs the suite against backends built by newAuthenticator.
func Run(t *testing.T, c Contract, newAuthenticator NewFunc) {
	t.Helper()
	fixture := func(t *testing.T) Fixture {
		return Fixture{Users: users(t), Anonymous: c.Anonymous, AnonymousLabels: auth.Labels{"tier": {"public"}}}
	}
	ctx := context.Background()

	t.Run("Accepted", func(t *testing.T) {
		t.Parallel()
		f := fixture(t)
		a := newAuthenticator(t, f)
		for _, u := range f.Users {
			res, labels, err := a.Authenticate(ctx, u.Name, auth.Secret(u.Password))
			if err != nil || res != authn.Accepted {
				t.Errorf("%s: %v, %v; want accepted", u.Name, res, err)
				continue
			}
			labels = withoutStamp(labels)
			if c.Labels {
				if diff := cmp.Diff(withExtra(u.Labels, c.ExtraLabels), labels, emptyLabels); diff != "" {
					t.Errorf("%s labels (-want +got):\n%s", u.Name, diff)
				}
			}
		}
	})

	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		f := fixture(t)
		a := newAuthenticator(t, f)
		alice, bob := f.Users[0], f.Users[1]
		for _, pw := range []string{"", bob.Password, alice.Password + "x", alice.Password[:len(alice.Password)-1], strings.ToUpper(alice.Password), alice.Password + "\x00"} {
			res, labels, err := a.Authenticate(ctx, alice.Name, auth.Secret(pw))
			if err != nil || res != authn.WrongPassword || labels != nil {
				t.Errorf("password %q: %v, %v, %v; want wrong password, no labels", pw, res, labels, err)
			}
		}
	})

	t.Run("UnknownUser", func(t *testing.T) {
		t.Parallel()
		f := fixture(t)
		a := newAuthenticator(t, f)
		alice := f.Users[0]
		for _, name := range []string{"mallory", "Alice", "alice ", " alice", "alic", "alice\x00"} {
			res, labels, err := a.Authenticate(ctx, name, auth.Secret(alice.Password))
			if err != nil || res != c.UnknownUser || labels != nil {
				t.Errorf("user %q: %v, %v, %v; want %v, no labels", name, res, labels, err, c.UnknownUser)
			}
		}
	})

	t.Run("Anonymous", func(t *testing.T) {
		t.Parallel()
		f := fixture(t)
		a := newAuthenticator(t, f)
		res, labels, err := a.Authenticate(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if !c.Anonymous {
			if res == authn.Accepted {
				t.Fatal("anonymous accepted by a backend that does not admit it")
			}
			return
		}
		if res != authn.Accepted {
			t.Fatalf("anonymous: %v", res)
		}
		if c.Labels {
			if diff := cmp.Diff(withExtra(f.AnonymousLabels, c.ExtraLabels), withoutStamp(labels), emptyLabels); diff != "" {
				t.Errorf("anonymous labels (-want +got):\n%s", diff)
			}
		}
	})

	t.Run("AnonymousNotConfigured", func(t *testing.T) {
		t.Parallel()
		f := fixture(t)
		f.Anonymous = false
		a := newAuthenticator(t, f)
		if res, _, err := a.Authenticate(ctx, "", ""); err != nil || res == authn.Accepted {
			t.Fatalf("anonymous: %v, %v; want it refused", res, err)
		}
	})

	t.Run("LabelsAreCopies", func(t *testing.T) {
		t.Parallel()
		f := fixture(t)
		a := newAuthenticator(t, f)
		alice := f.Users[0]
		_, labels, _ := a.Authenticate(ctx, alice.Name, auth.Secret(alice.Password))
		if len(labels["group"]) > 0 {
			labels["group"][0] = "admins"
		}
		if labels != nil {
			labels["group"] = append(labels["group"], "root")
		}
		_, again, _ := a.Authenticate(ctx, alice.Name, auth.Secret(alice.Password))
		want := withExtra(alice.Labels, c.ExtraLabels)
		if !c.Labels {
			want = nil
		}
		if diff := cmp.Diff(want, withoutStamp(again), emptyLabels); diff != "" {
			t.Errorf("labels changed through a returned copy (-want +got):\n%s", diff)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		f := fixture(t)
		a := newAuthenticator(t, f)
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 16 {
			u := f.Users[i%len(f.Users)]
			wg.Go(func() {
				pw, want := u.Password, authn.Accepted
				if i%2 == 1 {
					// Changed at the front: bcrypt ignores bytes past the 72nd.
					pw, want = "!"+pw, authn.WrongPassword
				}
				// A full password gate (gate.ErrBusy, 503 with Retry-After
				// on the wire) is no answer about the password: a client
				// retries, and so does this case. It is not what the case
				// checks, and on a loaded machine 16 logins at once can
				// wait longer than the gate's second for its GOMAXPROCS
				// slots.
				res, _, err := a.Authenticate(ctx, u.Name, auth.Secret(pw))
				for try := 0; errors.Is(err, gate.ErrBusy) && try < 20; try++ {
					time.Sleep(50 * time.Millisecond)
					res, _, err = a.Authenticate(ctx, u.Name, auth.Secret(pw))
				}
				if err != nil || res != want {
					errs <- fmt.Errorf("%s: %v, %v; want %v", u.Name, res, err, want)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("Confirm", func(t *testing.T) {
		t.Parallel()
		f := fixture(t)
		a := newAuthenticator(t, f)
		cf, ok := a.(authn.Confirmer)
		if !c.Confirms {
			if ok && cf.CanConfirm("") {
				t.Fatal("the backend confirms sessions but its contract does not say Confirms")
			}
			return
		}
		if !ok {
			t.Fatal("the contract says Confirms but the backend is not an authn.Confirmer")
		}
		testConfirm(t, c, cf, f)
	})

	t.Run("Name", func(t *testing.T) {
		t.Parallel()
		if newAuthenticator(t, fixture(t)).Name() == "" {
			t.Error("Name is empty")
		}
	})
}

// testConfirm checks that every fixture user's login can be confirmed with
// its stamp, with the same labels, and that nothing else can.
func testConfirm(t *testing.T, c Contract, cf authn.Confirmer, f Fixture) {
	ctx := context.Background()
	for _, u := range f.Users {
		res, labels, err := cf.Authenticate(ctx, u.Name, auth.Secret(u.Password))
		if err != nil || res != authn.Accepted {
			t.Fatalf("%s: log in: %v, %v", u.Name, res, err)
		}
		stamp := authn.TakeStamp(labels)
		if !cf.CanConfirm(stamp) {
			t.Errorf("%s: CanConfirm(the login's stamp) = false", u.Name)
			continue
		}
		res, fresh, err := cf.Confirm(ctx, u.Name, stamp)
		if err != nil || res != authn.Accepted {
			t.Errorf("%s: Confirm with the login's stamp = %v, %v; want accepted", u.Name, res, err)
			continue
		}
		if diff := cmp.Diff(labels, withoutStamp(fresh), emptyLabels); c.Labels && diff != "" {
			t.Errorf("%s: Confirm's labels differ from the login's (-login +confirm):\n%s", u.Name, diff)
		}
		if stamp == "" {
			continue
		}
		for _, other := range []string{"", authn.Stamp([]byte("another password")), stamp[:len(stamp)-1]} {
			if res, labels, err := cf.Confirm(ctx, u.Name, other); err != nil || res != authn.WrongPassword || labels != nil {
				t.Errorf("%s: Confirm with stamp %q = %v, %v, %v; want wrong password, no labels", u.Name, other, res, labels, err)
			}
		}
	}
	for _, name := range []string{"mallory", "Alice", "alice\x00", ""} {
		if res, labels, err := cf.Confirm(ctx, name, ""); err != nil || res != authn.WrongPassword || labels != nil {
			t.Errorf("Confirm(%q) = %v, %v, %v; want wrong password, no labels", name, res, labels, err)
		}
	}
}

// withoutStamp returns a copy of labels without the session stamp a
// Confirmer adds (Confirm is checked on its own).
func withoutStamp(labels auth.Labels) auth.Labels {
	if labels == nil {
		return nil
	}
	l := authn.CloneLabels(labels)
	authn.TakeStamp(l)
	return l
}

// emptyLabels treats nil and empty label maps (and value lists) alike.
var emptyLabels = cmp.Options{
	cmp.FilterValues(func(a, b auth.Labels) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore()),
}

// RunFullGate checks a backend that compares bcrypt hashes when the
// process's password gate (password.Checks) is full: every login —
// right password, wrong one, unknown user — ends in the gate's error
// (gate.ErrBusy), never in an answer. An unknown user answered NoMatch at
// once, without waiting for the dummy comparison, would be told apart from
// a known one; an answer without a comparison would be a guess. With the
// slot free again, the right password is accepted.
//
// It replaces the process's gate while it runs: call it from a test that
// is not parallel, so that no other test's logins meet the full gate.
func RunFullGate(t *testing.T, newAuthenticator NewFunc) {
	t.Helper()
	f := Fixture{Users: users(t)}
	a := newAuthenticator(t, f)
	ctx := context.Background()
	release := FillPasswordGate(t, time.Millisecond, nil)
	alice := f.Users[0]
	for _, c := range []struct{ user, password string }{
		{alice.Name, alice.Password}, {alice.Name, "wrong"}, {"mallory", alice.Password},
	} {
		res, labels, err := a.Authenticate(ctx, c.user, auth.Secret(c.password))
		if !errors.Is(err, gate.ErrBusy) || res == authn.Accepted || labels != nil {
			t.Errorf("full gate, user %q: %v, %v, %v; want the gate's error", c.user, res, labels, err)
		}
	}
	release()
	if res, _, err := a.Authenticate(ctx, alice.Name, auth.Secret(alice.Password)); res != authn.Accepted || err != nil {
		t.Errorf("with the slot free again: %v, %v; want accepted", res, err)
	}
}

// FillPasswordGate makes the process's password gate (password.Checks)
// one slot, with logins waiting wait for it and refusals logged to log (nil
// discards), and takes that slot: until release is called, every bcrypt
// comparison is refused with gate.ErrBusy. The previous gate comes back
// when the test ends. Call it from a test that is not parallel, so that no
// other test's logins meet the full gate.
func FillPasswordGate(t testing.TB, wait time.Duration, log *slog.Logger) (release func()) {
	t.Helper()
	g := password.NewGate(1, wait, log)
	prev := password.LimitChecks(g)
	t.Cleanup(func() { password.LimitChecks(prev) })
	release, err := g.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return release
}
