package authz_test

import (
	"context"
	"testing"
	"time"

	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
)

// The static ACL, the reloading one and a chain over the static one keep the authorizers' contract.
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
	t.Run("Stored", func(t *testing.T) {
		authztest.Run(t, contract, func(t *testing.T) authz.Authorizer {
			rules := authztest.Rules(t)
			load := func(context.Context) ([]authz.Rule, error) { return rules, nil }
			a, err := authz.NewStored(t.Context(), load, authz.StoredOptions{Name: "acl_test", TTL: time.Hour, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			return a
		})
	})
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
