package metadatatest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/metadata"
)

func testRefreshTokens(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Now()
	rt := metadata.RefreshToken{Account: "alice", Source: "ldap", Stamp: "stamp-1", Service: "wharf", ClientID: "docker",
		Labels: map[string][]string{"group": {"dev"}}, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateRefreshToken(ctx, "secret-token-1", rt); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRefreshToken(ctx, "secret-token-2", metadata.RefreshToken{Account: "alice", ExpiresAt: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.UseRefreshToken(ctx, "secret-token-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Account != "alice" || got.Source != "ldap" || got.Stamp != "stamp-1" || got.Service != "wharf" || got.ClientID != "docker" ||
		!cmp.Equal(got.Labels, rt.Labels) || got.ID != metadata.RefreshTokenID("secret-token-1") || len(got.ID) != 16 {
		t.Errorf("UseRefreshToken = %+v", got)
	}
	for _, tok := range []string{"secret-token-2", "unknown", ""} {
		if _, err := s.UseRefreshToken(ctx, tok, now); !errors.Is(err, metadata.ErrNotFound) {
			t.Errorf("UseRefreshToken(%q) = %v, want ErrNotFound (expired or unknown)", tok, err)
		}
	}
	n, err := s.RevokeRefreshTokens(ctx, "alice")
	if err != nil || n != 2 {
		t.Fatalf("RevokeRefreshTokens = %d, %v; want 2", n, err)
	}
	if _, err := s.UseRefreshToken(ctx, "secret-token-1", now); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("a revoked token still works: %v", err)
	}
	if err := s.CreateRefreshToken(ctx, "", rt); err == nil {
		t.Error("an empty token was stored")
	}
}

// testSessions lists, revokes one, revokes all and purges sessions.
func testSessions(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Now()
	create := func(tok, account string, expires time.Time) {
		t.Helper()
		if err := s.CreateRefreshToken(ctx, tok, metadata.RefreshToken{Account: account, Source: "static", Stamp: "s", ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
	}
	create("a1", "alice", now.Add(time.Hour))
	create("a2", "alice", now.Add(time.Hour))
	create("a3", "alice", now.Add(-time.Minute)) // expired
	create("b1", "bob", now.Add(time.Hour))
	ids := func(account string) []string {
		t.Helper()
		list, err := s.ListRefreshTokens(ctx, account, now)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, rt := range list {
			out = append(out, rt.Account+":"+rt.ID)
		}
		slices.Sort(out)
		return out
	}
	id := metadata.RefreshTokenID
	sorted := func(v ...string) []string { slices.Sort(v); return v }
	if diff := cmp.Diff(sorted("alice:"+id("a1"), "alice:"+id("a2")), ids("alice")); diff != "" {
		t.Errorf("alice's live sessions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sorted("alice:"+id("a1"), "alice:"+id("a2"), "bob:"+id("b1")), ids("")); diff != "" {
		t.Errorf("every live session (-want +got):\n%s", diff)
	}
	rt, err := s.RevokeRefreshToken(ctx, id("a1"), now)
	if err != nil || rt.Account != "alice" || rt.ID != id("a1") {
		t.Fatalf("RevokeRefreshToken = %+v, %v", rt, err)
	}
	if _, err := s.UseRefreshToken(ctx, "a1", now); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("a revoked session still refreshes: %v", err)
	}
	for _, gone := range []string{id("a1"), id("a3"), "0123456789abcdef", ""} {
		if _, err := s.RevokeRefreshToken(ctx, gone, now); !errors.Is(err, metadata.ErrNotFound) {
			t.Errorf("RevokeRefreshToken(%q) = %v; want ErrNotFound", gone, err)
		}
	}
	if n, err := s.RevokeAllRefreshTokens(ctx); err != nil || n != 3 { // a2, a3 (expired, not yet revoked), b1
		t.Errorf("RevokeAllRefreshTokens = %d, %v; want 3", n, err)
	}
	if got := ids(""); len(got) != 0 {
		t.Errorf("sessions left after revoking all: %v", got)
	}
	if n, err := s.PurgeRefreshTokens(ctx, now.Add(time.Second)); err != nil || n != 4 {
		t.Errorf("PurgeRefreshTokens = %d, %v; want 4", n, err)
	}
}
