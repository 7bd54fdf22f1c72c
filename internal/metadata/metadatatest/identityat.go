package metadatatest

import (
	"fmt"
	"sync"
	"testing"

	"wharf/internal/metadata"
)

// testIdentityAt: an identity change under IfIdentityAt commits only at the
// generation it names, and changes nothing otherwise; of several changes
// racing at one generation, exactly one commits. The last-admin check
// relies on it to be atomic with its write.
func testIdentityAt(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	const n = 6
	for i := range n {
		if err := s.CreateUser(ctx, metadata.User{Name: fmt.Sprintf("u%d", i), PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	stale := generation(t, s)
	if err := s.SetUserDisabled(ctx, "u0", true); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DeleteUser at a stale generation", s.DeleteUser(metadata.IfIdentityAt(ctx, stale), "u1"), metadata.ErrIdentityChanged)
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		t.Fatalf("u1 after a refused delete: %v", err)
	}
	if err := s.SetUserDisabled(metadata.IfIdentityAt(ctx, generation(t, s)), "u1", true); err != nil {
		t.Fatalf("SetUserDisabled at the current generation: %v", err)
	}

	at := metadata.IfIdentityAt(ctx, generation(t, s))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done []string
	)
	for i := 1; i < n; i++ {
		wg.Go(func() {
			name := fmt.Sprintf("u%d", i)
			err := s.DeleteUser(at, name)
			switch {
			case err == nil:
				mu.Lock()
				done = append(done, name)
				mu.Unlock()
			default:
				wantErr(t, "racing DeleteUser "+name, err, metadata.ErrIdentityChanged)
			}
		})
	}
	wg.Wait()
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || len(users) != n-1 {
		t.Errorf("%d deletes at one generation committed (%v), %d users left; want exactly one, %d left", len(done), done, len(users), n-1)
	}
}
