package accounts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

func TestTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	for _, u := range []accounts.NewUser{{Name: "alice", Password: "alice password 1"}, {Name: "ci", Robot: true}} {
		if err := e.svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.AddTeam(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddMember(ctx, "dev", "ci"); err != nil {
		t.Fatal(err)
	}
	tok, meta, err := e.svc.CreateToken(ctx, accounts.NewToken{User: "ci", Scopes: []string{"repository:dev/*:pull"}, ExpiresAt: e.clock.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(meta.Hash, tok.Reveal()) || meta.Hash != accounts.HashToken(tok) {
		t.Fatalf("stored hash %q is not the token's SHA-256", meta.Hash)
	}
	labels := e.want(t, "ci", tok, authn.Accepted)
	want := auth.Labels{accounts.LabelGroups: {"dev"}, accounts.LabelSource: {accounts.SourceDatabase}, accounts.LabelToken: {meta.ID},
		auth.LabelStamp: {"token:" + meta.ID}}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("token login labels (-want +got):\n%s", diff)
	}
	list, _ := e.store.ListAccessTokens(ctx, "ci")
	if len(list) != 1 || list[0].LastUsed.IsZero() {
		t.Errorf("last use not recorded: %+v", list)
	}

	// A token is a password for its own user only; a near miss is wrong.
	e.want(t, "alice", tok, authn.WrongPassword)
	e.want(t, "mallory", tok, authn.NoMatch)
	e.want(t, "ci", nearMiss(tok), authn.WrongPassword)
	e.want(t, "ci", "ci has no password", authn.WrongPassword)
	e.want(t, "ci", "", authn.WrongPassword)

	// Expired, then revoked.
	e.clock.now = e.clock.now.Add(2 * time.Hour)
	e.want(t, "ci", tok, authn.WrongPassword)
	e.clock.now = e.clock.now.Add(-2 * time.Hour)
	e.want(t, "ci", tok, authn.Accepted)
	if _, err := e.svc.RevokeToken(ctx, meta.ID); err != nil {
		t.Fatal(err)
	}
	e.want(t, "ci", tok, authn.WrongPassword)

	// A disabled user can use neither its password nor its tokens.
	tok2, _, err := e.svc.CreateToken(ctx, accounts.NewToken{User: "alice", Scopes: []string{"repository:alice/*:*"}})
	if err != nil {
		t.Fatal(err)
	}
	e.want(t, "alice", tok2, authn.Accepted)
	e.want(t, "alice", "alice password 1", authn.Accepted)
	if err := e.svc.SetDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	e.want(t, "alice", "alice password 1", authn.WrongPassword)
	e.want(t, "alice", tok2, authn.WrongPassword)
	if _, _, err := e.svc.CreateToken(ctx, accounts.NewToken{User: "alice", Scopes: []string{"repository:a:pull"}}); err == nil {
		t.Error("a token was created for a disabled user")
	}
}

// nearMiss is tok with its last character changed.
func nearMiss(tok auth.Secret) auth.Secret {
	last := "a"
	if strings.HasSuffix(tok.Reveal(), last) {
		last = "b"
	}
	return tok[:len(tok)-1] + auth.Secret(last)
}

// TestFreshPurgesCache changes users from a second connection to the same
// database file, as the CLI does while the server runs, and checks that
// the login cache in front of the chain forgets at once.
func TestFreshPurgesCache(t *testing.T) {
	t.Parallel()
	server, path := open(t)
	cli := accounts.NewService(openPath(t, path), accounts.Options{Cost: 4})
	ctx := t.Context()
	if err := cli.AddUser(ctx, accounts.NewUser{Name: "alice", Password: "first password"}); err != nil {
		t.Fatal(err)
	}
	live := accounts.NewLive(server, accounts.LiveOptions{})
	cache := authn.NewCache(authn.NewChain(nil, accounts.NewAuthenticator(live)), authn.CacheOptions{TTL: time.Hour})
	a := accounts.NewFresh(live, cache)
	login := func(pw string, want authn.Result) {
		t.Helper()
		if res, _, err := a.Authenticate(ctx, "alice", auth.Secret(pw)); err != nil || res != want {
			t.Fatalf("login with %q = %v, %v; want %v", pw, res, err, want)
		}
	}
	login("first password", authn.Accepted)
	if cache.Len() != 1 {
		t.Fatalf("cache holds %d logins, want 1", cache.Len())
	}
	login("first password", authn.Accepted) // from the cache

	if err := cli.SetPassword(ctx, "alice", "second password"); err != nil {
		t.Fatal(err)
	}
	login("first password", authn.WrongPassword)
	login("second password", authn.Accepted)

	if err := cli.SetDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	login("second password", authn.WrongPassword)
	if err := cli.SetDisabled(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	login("second password", authn.Accepted)

	// A change that has nothing to do with alice purges too, on the next
	// login of anyone: the cache cannot tell, and one bcrypt comparison is
	// cheap.
	if err := cli.AddTeam(ctx, "dev"); err != nil {
		t.Fatal(err)
	}
	if res, _, _ := a.Authenticate(ctx, "bob", "whatever"); res != authn.NoMatch {
		t.Fatalf("unknown bob: %v", res)
	}
	if cache.Len() != 0 {
		t.Errorf("cache holds %d logins after a change, want 0", cache.Len())
	}

	if err := cli.RemoveUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	login("second password", authn.NoMatch)
}

// TestDatabaseDown checks that an unreachable database denies with an
// error and leaves nothing in the cache.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	store, _ := open(t)
	svc := accounts.NewService(store, accounts.Options{Cost: 4})
	if err := svc.AddUser(t.Context(), accounts.NewUser{Name: "alice", Password: "alice password 1"}); err != nil {
		t.Fatal(err)
	}
	live := accounts.NewLive(store, accounts.LiveOptions{})
	cache := authn.NewCache(authn.NewChain(nil, accounts.NewAuthenticator(live)), authn.CacheOptions{})
	a := accounts.NewFresh(live, cache)
	if res, _, err := a.Authenticate(t.Context(), "alice", "alice password 1"); err != nil || res != authn.Accepted {
		t.Fatalf("login = %v, %v", res, err)
	}
	store.Close()
	res, _, err := a.Authenticate(context.Background(), "alice", "alice password 1")
	if err == nil || res == authn.Accepted {
		t.Fatalf("login with the database closed = %v, %v; want an error and no grant", res, err)
	}
	if cache.Len() != 0 {
		t.Errorf("cache still holds %d logins", cache.Len())
	}
}

// TestConfirm ends a session when its access ends: the password changed,
// the account disabled or removed, the token revoked.
func TestConfirm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	for _, u := range []accounts.NewUser{{Name: "alice", Password: "alice password 1"}, {Name: "bob", Password: "bob password 1"}, {Name: "ci", Robot: true}} {
		if err := e.svc.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	tok, meta, err := e.svc.CreateToken(ctx, accounts.NewToken{User: "ci", Scopes: []string{"repository:dev/*:pull"}})
	if err != nil {
		t.Fatal(err)
	}
	stamp := func(user string, pw auth.Secret) string {
		return authn.TakeStamp(e.want(t, user, pw, authn.Accepted))
	}
	confirm := func(step, user, stamp string, want authn.Result) {
		t.Helper()
		if res, _, err := e.users.Confirm(ctx, user, stamp); res != want || err != nil {
			t.Errorf("%s: Confirm(%s) = %v, %v; want %v", step, user, res, err, want)
		}
	}
	alice, bob, ci := stamp("alice", "alice password 1"), stamp("bob", "bob password 1"), stamp("ci", tok)
	confirm("start", "alice", alice, authn.Accepted)
	confirm("start", "ci", ci, authn.Accepted)
	confirm("another's stamp", "bob", alice, authn.WrongPassword)

	if err := e.svc.SetPassword(ctx, "alice", "alice password 2"); err != nil {
		t.Fatal(err)
	}
	confirm("password changed", "alice", alice, authn.WrongPassword)
	confirm("password changed", "alice", stamp("alice", "alice password 2"), authn.Accepted)

	if err := e.svc.SetDisabled(ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	confirm("disabled", "bob", bob, authn.WrongPassword)
	if err := e.svc.SetDisabled(ctx, "bob", false); err != nil {
		t.Fatal(err)
	}
	confirm("enabled again", "bob", bob, authn.Accepted)
	if err := e.svc.RemoveUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	confirm("removed", "bob", bob, authn.WrongPassword)

	if _, err := e.svc.RevokeToken(ctx, meta.ID); err != nil {
		t.Fatal(err)
	}
	confirm("token revoked", "ci", ci, authn.WrongPassword)
}
