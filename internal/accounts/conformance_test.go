package accounts_test

import (
	"testing"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
	"wharf/internal/metadata"
)

func newDBUsers(t *testing.T, f authntest.Fixture) authn.Authenticator {
	store, _ := open(t)
	for _, u := range f.Users {
		if err := store.CreateUser(t.Context(), metadata.User{Name: u.Name, PasswordHash: u.Hash, Labels: u.Labels}); err != nil {
			t.Fatal(err)
		}
	}
	return accounts.NewAuthenticator(accounts.NewLive(store, accounts.LiveOptions{}))
}

// The database users keep the authenticators' contract.
func TestAuthenticatorConformance(t *testing.T) {
	authntest.Run(t, authntest.Contract{UnknownUser: authn.NoMatch, Labels: true, Confirms: true,
		ExtraLabels: auth.Labels{accounts.LabelSource: {accounts.SourceDatabase}}}, newDBUsers)
}

// Not parallel: it fills the process's password gate.
func TestFullPasswordGate(t *testing.T) {
	authntest.RunFullGate(t, newDBUsers)
}

// The database's rules, and the guard over them, keep the authorizers'
// contract.
func TestAuthorizerConformance(t *testing.T) {
	newRules := func(t *testing.T) *env {
		e := newEnv(t)
		for _, r := range authztest.Rules(t) {
			if _, err := e.svc.AddRule(t.Context(), r, 0); err != nil {
				t.Fatal(err)
			}
		}
		return e
	}
	contract := authztest.Contract{Unmatched: authz.ErrNoMatch}
	t.Run("ACL", func(t *testing.T) {
		authztest.Run(t, contract, func(t *testing.T) authz.Authorizer { return accounts.NewACL(newRules(t).live) })
	})
	t.Run("Guard", func(t *testing.T) {
		authztest.Run(t, contract, func(t *testing.T) authz.Authorizer {
			e := newRules(t)
			return accounts.NewGuard(accounts.NewACL(e.live), e.live, nil)
		})
	})
}
