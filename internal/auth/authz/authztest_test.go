package authz_test

import (
	"testing"

	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
)

// The static ACL, and a chain over it, keep the authorizers' contract.
func TestConformance(t *testing.T) {
	newACL := func(t *testing.T) authz.Authorizer {
		a, err := authz.New(authztest.Rules(t))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	contract := authztest.Contract{Unmatched: authz.ErrNoMatch}
	t.Run("ACL", func(t *testing.T) { authztest.Run(t, contract, newACL) })
	t.Run("Chain", func(t *testing.T) {
		authztest.Run(t, contract, func(t *testing.T) authz.Authorizer {
			empty, err := authz.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			return authz.Chain{empty, newACL(t)}
		})
	})
}
