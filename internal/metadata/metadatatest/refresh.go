package metadatatest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/metadata"
)

func testRefreshTokens(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Now()
	rt := metadata.RefreshToken{Account: "alice", Service: "wharf", ClientID: "docker",
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
	if got.Account != "alice" || got.Service != "wharf" || got.ClientID != "docker" || !cmp.Equal(got.Labels, rt.Labels) {
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
