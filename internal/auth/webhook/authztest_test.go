package webhook_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
	"wharf/internal/auth/webhook"
)

// policyServer is a webhook_authz endpoint deciding by authztest.Policy.
func policyServer(t *testing.T) *httptest.Server {
	t.Helper()
	acl, err := authz.New(authztest.Rules(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in webhook.AuthzRequest
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		allowed, err := acl.Authorize(r.Context(), auth.Request{Identity: auth.Identity{Account: in.Account, Labels: in.Labels},
			Service: in.Service, Access: auth.Access{Type: in.Type, Name: in.Name, Actions: in.Actions}})
		out := webhook.AuthzResponse{Result: "allow", Actions: allowed}
		switch {
		case errors.Is(err, authz.ErrNoMatch):
			out = webhook.AuthzResponse{Result: "no_match"}
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		case len(allowed) == 0:
			out = webhook.AuthzResponse{Result: "deny"}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// webhook_authz keeps the authorizers' contract.
func TestAuthzConformance(t *testing.T) {
	authztest.Run(t, authztest.Contract{Unmatched: authz.ErrNoMatch}, func(t *testing.T) authz.Authorizer {
		a, err := webhook.NewAuthorizer(config(policyServer(t).URL))
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}
