package accounts_test

import (
	"context"
	"errors"
	"fmt"
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

// TestKeepAnAdminAgainstDemotion: taking the right to administer from the
// last account that has it, without disabling or removing it, is refused
// too: removing its rule, adding or moving a rule in front that grants it
// less, taking it out of the team the rule names, removing that team,
// revoking a robot's last admin token. With a second administrator each
// is accepted.
func TestKeepAnAdminAgainstDemotion(t *testing.T) {
	t.Parallel()
	adminRule := func(m authz.Match) authz.Rule {
		m.Type = str("admin")
		return authz.Rule{Match: m, Actions: []string{"*"}}
	}
	type fixture struct {
		svc  *accounts.Service
		rule int64 // the rule that makes the one administrator one
	}
	setup := func(t *testing.T, grant func(f *fixture) error) *fixture {
		store, _ := open(t)
		f := &fixture{svc: accounts.NewService(store, accounts.Options{Cost: bcrypt.MinCost})}
		if err := grant(f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	user := func(f *fixture, name string, m authz.Match) error {
		if err := f.svc.AddUser(context.Background(), accounts.NewUser{Name: name, Password: "a long enough password"}); err != nil {
			return err
		}
		r, err := f.svc.AddRule(context.Background(), adminRule(m), 0)
		f.rule = r.ID
		return err
	}
	byRule := func(f *fixture) error { return user(f, "ops", authz.Match{Account: str("ops")}) }
	byTeam := func(f *fixture) error {
		if err := f.svc.AddTeam(context.Background(), "admins"); err != nil {
			return err
		}
		if err := user(f, "tm", authz.Match{Labels: map[string]string{accounts.LabelGroups: "admins"}}); err != nil {
			return err
		}
		return f.svc.AddMember(context.Background(), "admins", "tm")
	}
	var botToken string
	byToken := func(f *fixture) error {
		ctx := context.Background()
		if err := f.svc.AddUser(ctx, accounts.NewUser{Name: "bot", Robot: true}); err != nil {
			return err
		}
		if _, err := f.svc.AddRule(ctx, adminRule(authz.Match{Account: str("bot")}), 0); err != nil {
			return err
		}
		_, tok, err := f.svc.CreateToken(ctx, accounts.NewToken{User: "bot", Scopes: []string{"admin:api:*"}})
		botToken = tok.ID
		return err
	}
	pullOnly := authz.Rule{Match: authz.Match{Account: str("ops"), Type: str("admin")}, Actions: []string{"pull"}}
	for _, tc := range []struct {
		name   string
		grant  func(f *fixture) error
		demote func(ctx context.Context, f *fixture) error
		says   string
	}{
		{"remove rule", byRule, func(ctx context.Context, f *fixture) error { return f.svc.RemoveRule(ctx, f.rule) }, "removing rule"},
		{"add rule in front", byRule, func(ctx context.Context, f *fixture) error {
			_, err := f.svc.AddRule(ctx, pullOnly, 1)
			return err
		}, "adding this rule at position 1"},
		{"move rule in front", byRule, func(ctx context.Context, f *fixture) error {
			r, err := f.svc.AddRule(ctx, pullOnly, 0) // behind: harmless
			if err != nil {
				return fmt.Errorf("adding the rule last: %w", err)
			}
			_, err = f.svc.MoveRule(ctx, r.ID, 1)
			return err
		}, "moving rule"},
		{"remove member", byTeam, func(ctx context.Context, f *fixture) error { return f.svc.RemoveMember(ctx, "admins", "tm") }, "removing tm from team admins"},
		{"remove team", byTeam, func(ctx context.Context, f *fixture) error { return f.svc.RemoveTeam(ctx, "admins") }, "removing team admins"},
		{"revoke token", byToken, func(ctx context.Context, f *fixture) error {
			_, err := f.svc.RevokeToken(ctx, botToken)
			return err
		}, "revoking token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			f := setup(t, tc.grant)
			wantRefused(t, tc.demote(ctx, f), tc.says, "no account that may administer")
			// Another administrator: the same change is accepted.
			g := setup(t, tc.grant)
			if err := user(&fixture{svc: g.svc}, "second", authz.Match{Account: str("second")}); err != nil {
				t.Fatal(err)
			}
			if err := tc.demote(ctx, g); err != nil {
				t.Errorf("with a second administrator: %v", err)
			}
		})
	}
}
