package external_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/authz/authztest"
	"wharf/internal/auth/external"
)

// policyServer is a webhook_authz endpoint deciding by authztest.Policy.
func policyServer(t *testing.T) *httptest.Server {
	t.Helper()
	acl, err := authz.New(authztest.Rules(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in external.WebhookAuthzRequest
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		allowed, err := acl.Authorize(r.Context(), auth.Request{Identity: auth.Identity{Account: in.Account, Labels: in.Labels},
			Service: in.Service, Access: auth.Access{Type: in.Type, Name: in.Name, Actions: in.Actions}})
		out := external.WebhookAuthzResponse{Result: "allow", Actions: allowed}
		switch {
		case errors.Is(err, authz.ErrNoMatch):
			out = external.WebhookAuthzResponse{Result: "no_match"}
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		case len(allowed) == 0:
			out = external.WebhookAuthzResponse{Result: "deny"}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// webhook_authz keeps the authorizers' contract.
func TestWebhookAuthzConformance(t *testing.T) {
	authztest.Run(t, authztest.Contract{Unmatched: authz.ErrNoMatch}, func(t *testing.T) authz.Authorizer {
		a, err := external.NewWebhookAuthz(config(policyServer(t).URL))
		if err != nil {
			t.Fatal(err)
		}
		return a
	})
}
