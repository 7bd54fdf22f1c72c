package authz_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
)

func seq(n int64) *int64 { return &n }

func req(account, name string, actions ...string) auth.Request {
	return auth.Request{Identity: auth.Identity{Account: account},
		Access: auth.Access{Type: "repository", Name: name, Actions: actions}}
}

func TestParseEntries(t *testing.T) {
	t.Parallel()
	rules, err := authz.ParseEntries([]authz.Entry{
		{Seq: seq(30), Source: "c", Fields: map[string]any{"match": map[string]any{"account": "/.+/"}, "actions": []any{"pull"}}},
		{Seq: seq(10), Source: "a", Fields: map[string]any{"match": map[string]any{"account": "admin"}, "actions": []any{"*"}, "comment": "admin"}},
		{Seq: seq(20), Source: "b", Fields: map[string]any{"match": map[string]any{"account": "test"}, "actions": []any{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var comments []string
	for _, r := range rules {
		comments = append(comments, *r.Match.Account)
	}
	if !slices.Equal(comments, []string{"admin", "test", "/.+/"}) {
		t.Errorf("order %v; want ascending seq", comments)
	}
	acl, err := authz.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	// test matches rule 20 (deny) before the pull rule 30.
	if got, err := acl.Authorize(context.Background(), req("test", "x", "pull")); err != nil || len(got) != 0 {
		t.Errorf("test: %v, %v; want the deny rule", got, err)
	}
}

func TestParseEntriesErrors(t *testing.T) {
	t.Parallel()
	good := func() map[string]any {
		return map[string]any{"match": map[string]any{"account": "a"}, "actions": []any{"pull"}}
	}
	with := func(k string, v any) map[string]any { m := good(); m[k] = v; return m }
	for _, tc := range []struct {
		name    string
		entries []authz.Entry
		want    string
	}{
		{"no seq", []authz.Entry{{Source: "x", Fields: good()}}, "no seq"},
		{"sequence instead of seq", []authz.Entry{{Source: "x", Fields: with("sequence", int32(1))}}, "docker_auth reads seq"},
		{"repeated seq", []authz.Entry{{Seq: seq(1), Source: "x", Fields: good()}, {Seq: seq(1), Source: "y", Fields: good()}}, "also the seq of x"},
		{"misspelt match key", []authz.Entry{{Seq: seq(1), Source: "x", Fields: map[string]any{"match": map[string]any{"acount": "a"}, "actions": []any{"pull"}}}}, "acount"},
		{"unknown rule key", []authz.Entry{{Seq: seq(1), Source: "x", Fields: with("priority", "high")}}, "priority"},
		{"no actions", []authz.Entry{{Seq: seq(1), Source: "x", Fields: map[string]any{"match": map[string]any{}}}}, "no actions"},
		{"actions not a list", []authz.Entry{{Seq: seq(1), Source: "x", Fields: with("actions", "pull")}}, "list"},
		{"bad regex", []authz.Entry{{Seq: seq(1), Source: "x", Fields: map[string]any{"match": map[string]any{"name": "/(/"}, "actions": []any{}}}}, "seq 1"},
		{"bad ip", []authz.Entry{{Seq: seq(1), Source: "x", Fields: map[string]any{"match": map[string]any{"ip": "300.1.1.1"}, "actions": []any{}}}}, "300.1.1.1"},
		{"null match", []authz.Entry{{Seq: seq(1), Source: "x", Fields: with("match", nil)}}, "match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authz.ParseEntries(tc.entries)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want one containing %q", err, tc.want)
			}
		})
	}
}

// store is an in-memory store of rules whose loads can be made to fail.
type store struct {
	mu    sync.Mutex
	rules []authz.Rule
	err   error
}

func (s *store) load(context.Context) ([]authz.Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rules), s.err
}

func (s *store) set(rules []authz.Rule, err error) {
	s.mu.Lock()
	s.rules, s.err = rules, err
	s.mu.Unlock()
}

func allow(account string, actions ...string) authz.Rule {
	return authz.Rule{Match: authz.Match{Account: &account}, Actions: actions}
}

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestStoredReload(t *testing.T) {
	t.Parallel()
	s := &store{rules: []authz.Rule{allow("alice", "pull")}}
	c := &clock{now: time.Unix(1e9, 0)}
	a, err := authz.NewStored(t.Context(), s.load, authz.StoredOptions{Name: "acl_test", TTL: time.Hour, Timeout: time.Minute, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	if got, err := a.Authorize(ctx, req("alice", "x", "pull", "push")); err != nil || !slices.Equal(got, []string{"pull"}) {
		t.Fatalf("alice: %v, %v", got, err)
	}

	// A change is in force after a reload.
	s.set([]authz.Rule{allow("alice", "*")}, nil)
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Authorize(ctx, req("alice", "x", "pull", "push")); err != nil || !slices.Equal(got, []string{"pull", "push"}) {
		t.Fatalf("alice after reload: %v, %v", got, err)
	}

	// A failed reload keeps the rules for one more interval…
	down := errors.New("store down")
	s.set(nil, down)
	if err := a.Reload(ctx); !errors.Is(err, down) {
		t.Fatalf("reload: %v; want the store's error", err)
	}
	c.add(90 * time.Minute)
	if got, err := a.Authorize(ctx, req("alice", "x", "pull")); err != nil || !slices.Equal(got, []string{"pull"}) {
		t.Fatalf("one failed reload: %v, %v; want the rules loaded before", got, err)
	}
	// …and past two intervals every decision is an error, never a grant.
	c.add(2 * time.Hour)
	got, err := a.Authorize(ctx, req("alice", "x", "pull"))
	if !errors.Is(err, authz.ErrStale) || got != nil || !strings.Contains(err.Error(), "store down") {
		t.Fatalf("stale rules: %v, %v; want ErrStale with the cause", got, err)
	}
	// A rule set that does not compile is a failed reload too.
	bad := "/(/"
	s.set([]authz.Rule{{Match: authz.Match{Name: &bad}, Actions: []string{}}}, nil)
	if err := a.Reload(ctx); err == nil {
		t.Fatal("reload of a bad rule: no error")
	}
	// Recovery.
	s.set([]authz.Rule{allow("alice", "pull")}, nil)
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Authorize(ctx, req("alice", "x", "pull")); err != nil || !slices.Equal(got, []string{"pull"}) {
		t.Fatalf("after recovery: %v, %v", got, err)
	}
	if got, err := a.Authorize(ctx, req("bob", "x", "pull")); !errors.Is(err, authz.ErrNoMatch) {
		t.Fatalf("bob: %v, %v; want no match", got, err)
	}
}

func TestStoredFirstLoadFails(t *testing.T) {
	t.Parallel()
	s := &store{err: errors.New("no such table")}
	if _, err := authz.NewStored(t.Context(), s.load, authz.StoredOptions{Name: "acl_test", TTL: time.Hour, Timeout: time.Minute}); err == nil ||
		!strings.Contains(err.Error(), "acl_test: no such table") {
		t.Fatalf("New: %v; want the load's error", err)
	}
}

// TestStoredBackgroundReload: the rules change without a call to Reload.
func TestStoredBackgroundReload(t *testing.T) {
	t.Parallel()
	s := &store{rules: []authz.Rule{allow("alice", "pull")}}
	a, err := authz.NewStored(t.Context(), s.load, authz.StoredOptions{Name: "acl_test", TTL: 20 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s.set([]authz.Rule{allow("alice", "*")}, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := a.Authorize(context.Background(), req("alice", "x", "push"))
		if err == nil && slices.Equal(got, []string{"push"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change was never loaded: %v, %v", got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
