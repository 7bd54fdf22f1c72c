package dbacl_test

import (
	"testing"

	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
	"wharf/internal/auth/authz/dbacl"
)

// The database's rules, and the guard over them, keep the authorizers'
// contract.
func TestConformance(t *testing.T) {
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
		authztest.Run(t, contract, func(t *testing.T) authz.Authorizer { return dbacl.New(newRules(t).live) })
	})
	t.Run("Guard", func(t *testing.T) {
		authztest.Run(t, contract, func(t *testing.T) authz.Authorizer {
			e := newRules(t)
			return dbacl.NewGuard(dbacl.New(e.live), e.live, nil)
		})
	})
}
