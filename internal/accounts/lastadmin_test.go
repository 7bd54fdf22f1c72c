package accounts_test

import (
	"errors"
	"os"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/accounts"
	"wharf/internal/auth/authz"
	"wharf/internal/metadata"
	"wharf/internal/testserver"
)

// servers are the database servers this package's tests share.
var servers testserver.Shared

func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }

// TestLastAdminRace: two administrators, each removed or disabled at once
// by a process of its own (two Services on one database), each checked
// while the other still administers. The check and the write are one
// step: the write that comes second finds the accounts changed, checks
// again and is refused, leaving one administrator. Deterministic: the
// first change runs and commits between the second's check and its
// write. On SQLite and PostgreSQL.
func TestLastAdminRace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		driver string
		dsn    func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return t.TempDir() + "/wharf.db" }},
		{"postgres", func(t *testing.T) string { return servers.Postgres(t).NewDatabase(t) }},
	} {
		for _, op := range []string{"remove", "disable"} {
			t.Run(tc.driver+"/"+op, func(t *testing.T) {
				t.Parallel()
				dsn := tc.dsn(t)
				open := func() *accounts.Service {
					s, err := metadata.Open(t.Context(), tc.driver, dsn, nil)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.Close() })
					return accounts.NewService(s, accounts.Options{Cost: bcrypt.MinCost})
				}
				first, second := open(), open()
				ctx := t.Context()
				for _, name := range []string{"alice", "bob"} {
					if err := first.AddUser(ctx, accounts.NewUser{Name: name, Password: "a long enough password"}); err != nil {
						t.Fatal(err)
					}
					if _, err := first.AddRule(ctx, authz.Rule{Match: authz.Match{Account: str(name), Type: str("admin")}, Actions: []string{"*"}}, 0); err != nil {
						t.Fatal(err)
					}
				}
				change := func(s *accounts.Service, name string) error {
					if op == "remove" {
						return s.RemoveUser(ctx, name)
					}
					return s.SetDisabled(ctx, name, true)
				}
				var (
					once     sync.Once
					firstErr error
				)
				// The second process has checked bob (alice still
				// administers); before it writes, the first removes
				// alice, checked while bob still administers.
				accounts.SetChecked(second, func() { once.Do(func() { firstErr = change(first, "alice") }) })
				secondErr := change(second, "bob")
				if firstErr != nil {
					t.Fatalf("%s alice: %v", op, firstErr)
				}
				if !errors.Is(secondErr, accounts.ErrRefused) {
					t.Fatalf("%s bob after alice: %v; want refused, bob is the last administrator", op, secondErr)
				}
				users, err := first.Store().ListUsers(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var left []string
				for _, u := range users {
					if !u.Disabled {
						left = append(left, u.Name)
					}
				}
				if len(left) != 1 || left[0] != "bob" {
					t.Errorf("enabled accounts left: %v; want [bob]", left)
				}
			})
		}
	}
}
