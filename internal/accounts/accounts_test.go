package accounts

import (
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/metadata"
)

func TestCheckName(t *testing.T) {
	t.Parallel()
	good := []string{"alice", "Alice", "zoë", "max.len@example.com", "ci-bot_2", "7seas", strings.Repeat("a", 128)}
	bad := []string{"", "a:b", "a b", "a/b", "-a", ".a", "a*", "/.+/", "${account}", "a\x00", strings.Repeat("a", 129), "\xff"}
	for _, n := range good {
		if err := CheckName("user", n); err != nil {
			t.Errorf("CheckName(%q) = %v", n, err)
		}
	}
	for _, n := range bad {
		if err := CheckName("user", n); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckName(%q) = %v; want ErrInvalid", n, err)
		}
	}
}

func TestLabels(t *testing.T) {
	t.Parallel()
	l, err := ParseLabels([]string{"org=acme", "org=globex", "tier=gold"})
	if err != nil || len(l["org"]) != 2 || l["tier"][0] != "gold" {
		t.Errorf("ParseLabels = %v, %v", l, err)
	}
	for _, bad := range [][]string{{"groups=dev"}, {"wharf.token=x"}, {"org"}, {"org="}, {"a b=c"}} {
		if _, err := ParseLabels(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseLabels(%q) = %v; want ErrInvalid", bad, err)
		}
	}
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "short", "eleven char", strings.Repeat("x", 73), "wharf_looks_like_a_token", " padded password "} {
		err := CheckPassword(auth.Secret(bad))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckPassword(%q) = %v; want ErrInvalid", bad, err)
		}
		if bad != "" && err != nil && strings.Contains(err.Error(), bad) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	h, err := HashPassword("correct horse battery", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$2y$04$") || bcrypt.CompareHashAndPassword([]byte(h), []byte("correct horse battery")) != nil {
		t.Errorf("HashPassword = %q; want a $2y$ bcrypt hash of the password", h)
	}
	if _, err := HashPassword("correct horse battery", 31); !errors.Is(err, ErrInvalid) {
		t.Errorf("cost 31 accepted: %v", err)
	}
}

func TestTokenFormat(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		id, tok := newToken()
		got, ok := TokenID(tok)
		if !ok || got != id || len(tok) != tokenLen {
			t.Fatalf("TokenID(%q) = %q, %v; want %q", tok.Reveal(), got, ok, id)
		}
		if seen[tok.Reveal()] {
			t.Fatal("the same token twice")
		}
		seen[tok.Reveal()] = true
		other := tok[:len(tok)-1] + "a"
		if other == tok {
			other = tok[:len(tok)-1] + "b"
		}
		if !tokenMatches(tok, HashToken(tok)) || tokenMatches(other, HashToken(tok)) {
			t.Fatal("tokenMatches is wrong")
		}
	}
	_, tok := newToken()
	for _, bad := range []string{"", "wharf_", tok.Reveal() + "a", strings.ToUpper(tok.Reveal()), strings.Replace(tok.Reveal(), "wharf_", "wharf-", 1),
		tok.Reveal()[:len(tok)-1] + "1", tok.Reveal()[:len(tok)-1] + "_"} {
		if _, ok := TokenID(auth.Secret(bad)); ok {
			t.Errorf("TokenID(%q) accepted", bad)
		}
	}
}

func TestParseScopes(t *testing.T) {
	t.Parallel()
	acl, err := ParseScopes([]string{"repository:team/*:pull", "repository:/^base/.+$/:pull,push", "registry:catalog:*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scope string
		want  string
	}{
		{"repository:team/app:pull,push", "pull"},
		{"repository:team/a/b:pull", ""},
		{"repository:base/x/y:push", "push"},
		{"registry:catalog:*", "*"},
		{"repository:other:pull", ""},
	} {
		a, _ := auth.ParseScope(tc.scope)
		got, err := acl.Authorize(t.Context(), auth.Request{Access: a})
		if err != nil && !errors.Is(err, authz.ErrNoMatch) {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s: %v, want %q", tc.scope, got, tc.want)
		}
	}
	for _, bad := range [][]string{nil, {"pull"}, {"repository:a:"}, {"repository:[:pull"}, {"repository:a b:pull"}} {
		if _, err := ParseScopes(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseScopes(%q) = %v; want ErrInvalid", bad, err)
		}
	}
}

func TestCheckRule(t *testing.T) {
	t.Parallel()
	bad := "${acount}"
	if err := CheckRule(authz.Rule{Match: authz.Match{Name: &bad}, Actions: []string{"pull"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a rule with an unknown placeholder was accepted: %v", err)
	}
	if err := CheckRule(authz.Rule{Actions: []string{"pull,push"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an action with a comma was accepted: %v", err)
	}
	if err := CheckRule(authz.Rule{Actions: []string{"pull", "pul"}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "did you mean pull?") {
		t.Errorf("an unknown action was accepted: %v", err)
	}
	if err := CheckRule(authz.Rule{Actions: []string{}}); err != nil {
		t.Errorf("a deny-all rule was refused: %v", err)
	}
}

// TestLiveReloads changes the database through a second connection, as
// the CLI does while the server runs, and checks that Live sees it and
// calls its hooks, and only then.
func TestLiveReloads(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wharf.db")
	open := func() *metadata.Store {
		s, err := metadata.Open(t.Context(), "sqlite", path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	server, cli := open(), NewService(open(), Options{Cost: 4})
	live := NewLive(server, LiveOptions{})
	var reloads atomic.Int64
	live.OnChange(func() { reloads.Add(1) })
	ctx := t.Context()
	s1, err := live.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s2, _ := live.Snapshot(ctx); s2 != s1 || reloads.Load() != 1 {
		t.Fatalf("an unchanged database was reloaded (%d reloads)", reloads.Load())
	}
	if err := cli.AddUser(ctx, NewUser{Name: "alice", Password: "alice password 1"}); err != nil {
		t.Fatal(err)
	}
	s3, err := live.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s3.Account("alice"); !ok || s3.Generation <= s1.Generation || reloads.Load() != 2 {
		t.Errorf("after AddUser: alice %v, generation %d → %d, %d reloads", ok, s1.Generation, s3.Generation, reloads.Load())
	}
	// A token's last use is no change.
	_, tm, err := cli.CreateToken(ctx, NewToken{User: "alice", Scopes: []string{"repository:a:pull"}})
	if err != nil {
		t.Fatal(err)
	}
	s4, _ := live.Snapshot(ctx)
	live.TokenUsed(ctx, tm.ID)
	if s5, _ := live.Snapshot(ctx); s5 != s4 {
		t.Error("recording a token's use reloaded the snapshot")
	}
	if list, _ := cli.Tokens(ctx, "alice"); len(list) != 1 || list[0].LastUsed.IsZero() {
		t.Errorf("last use not recorded: %+v", list)
	}
}

// TestLivePin: in a pinned context (one request) every Snapshot returns the
// view the first one read, even after a change; another context sees the
// change at once.
func TestLivePin(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wharf.db")
	server, err := metadata.Open(t.Context(), "sqlite", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	cli := NewService(server, Options{Cost: 4})
	live := NewLive(server, LiveOptions{})
	request := live.Pin(t.Context())
	first, err := live.Snapshot(request)
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.AddUser(t.Context(), NewUser{Name: "alice", Password: "alice password 1"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := live.Snapshot(request); again != first {
		t.Error("a pinned request saw a second snapshot")
	}
	next, err := live.Snapshot(live.Pin(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := next.Account("alice"); !ok || next.Generation <= first.Generation {
		t.Errorf("the next request does not see the change: alice %v, generation %d → %d", ok, first.Generation, next.Generation)
	}
	// A pin of another Live is not used.
	other := NewLive(server, LiveOptions{})
	if s, _ := live.Snapshot(other.Pin(t.Context())); s.Generation != next.Generation {
		t.Errorf("another Live's pin changed what this Live read")
	}
}
