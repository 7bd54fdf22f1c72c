package accounts_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/metadata"
)

// TestSessionStore keeps a session through the token server's store and
// reads it back as the token server and `wharf session` see it; an
// unknown, revoked or expired one is auth.ErrNoSession.
func TestSessionStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	sessions := accounts.NewSessionStore(e.store)
	now := time.Now()
	in := auth.Session{Account: "alice", Source: "ldap", Stamp: "s1", Service: "registry", ClientID: "docker",
		Labels: auth.Labels{"groups": {"dev"}}, ExpiresAt: now.Add(time.Hour)}
	e.must(t, sessions.CreateRefreshToken(ctx, "token-1", in))

	got, err := sessions.UseRefreshToken(ctx, "token-1", now)
	e.must(t, err)
	want := in
	want.ID = metadata.RefreshTokenID("token-1")
	if diff := cmp.Diff(want, *got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("the session read back (-want +got):\n%s", diff)
	}
	if listed, _ := e.svc.Sessions(ctx, "alice"); len(listed) != 1 || listed[0].ID != want.ID {
		t.Errorf("wharf session ls sees %+v; want the session %s", listed, want.ID)
	}

	for _, tc := range []struct {
		name  string
		token string
		at    time.Time
	}{
		{"unknown", "token-2", now},
		{"expired", "token-1", now.Add(2 * time.Hour)},
	} {
		if s, err := sessions.UseRefreshToken(ctx, tc.token, tc.at); !errors.Is(err, auth.ErrNoSession) || s != nil {
			t.Errorf("%s: %+v, %v; want auth.ErrNoSession", tc.name, s, err)
		}
	}
	e.must(t, sessions.RevokeRefreshToken(ctx, want.ID, now))
	if s, err := sessions.UseRefreshToken(ctx, "token-1", now); !errors.Is(err, auth.ErrNoSession) || s != nil {
		t.Errorf("revoked: %+v, %v; want auth.ErrNoSession", s, err)
	}
	if err := sessions.RevokeRefreshToken(ctx, want.ID, now); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("revoking it again: %v; want auth.ErrNoSession", err)
	}
}
