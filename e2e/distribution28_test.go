package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	dcontext "github.com/docker/distribution/context"
	dauth "github.com/docker/distribution/registry/auth"
	_ "github.com/docker/distribution/registry/auth/token" // registers the "token" access controller

	"wharf/e2e/harness"
	"wharf/internal/auth/token"
	"wharf/internal/datadir"
)

// TestDistribution28AcceptsWharfTokens checks tokens from `wharf serve`
// against the token verifier of distribution v2.8.3, the code inside the
// registry:2 image most people run (libtrust-based). Its registry binary
// cannot be built from the module proxy any more (a dependency is gone),
// so the test drives its access controller, unchanged, as a library.
func TestDistribution28AcceptsWharfTokens(t *testing.T) {
	harness.SkipIfShort(t)
	w := startTokenWharf(t)
	ac, err := dauth.GetAccessController("token", map[string]any{
		"realm":          w.URL() + "/auth/token",
		"issuer":         "wharf",
		"service":        "wharf",
		"rootcertbundle": datadir.New(w.DataDir()).TokenCert(),
	})
	if err != nil {
		t.Fatalf("distribution v2.8 token access controller: %v", err)
	}
	authorized := func(tok string, access ...dauth.Access) error {
		req := httptest.NewRequest(http.MethodGet, "/v2/", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		ctx := dcontext.WithRequest(context.Background(), req)
		_, err := ac.Authorized(ctx, access...)
		return err
	}
	getToken := func(user, pass, scope string) string {
		t.Helper()
		q := url.Values{"service": {"wharf"}, "scope": {scope}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, w.URL()+"/auth/token?"+q.Encode(), nil)
		req.SetBasicAuth(user, pass)
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("token request: %d %v", res.StatusCode, err)
		}
		return body.Token
	}
	access := func(name, action string) dauth.Access {
		return dauth.Access{Resource: dauth.Resource{Type: "repository", Name: name}, Action: action}
	}

	admin := getToken("admin", adminPassword, "repository:team/app:pull,push")
	if err := authorized(admin, access("team/app", "pull"), access("team/app", "push")); err != nil {
		t.Fatalf("distribution v2.8 refused a wharf token: %v", err)
	}
	test := getToken("test", testPassword, "repository:team/app:pull,push")
	if err := authorized(test, access("team/app", "pull")); err != nil {
		t.Fatalf("distribution v2.8 refused a pull token: %v", err)
	}
	if err := authorized(test, access("team/app", "push")); err == nil {
		t.Error("distribution v2.8 let a pull-only token push: the token claims more than the ACL granted")
	}
	if err := authorized(admin, access("other/app", "pull")); err == nil {
		t.Error("distribution v2.8 accepted a token for another repository")
	}

	// The same token against a bundle without wharf's certificate: refused,
	// so the acceptance above is the signature's doing.
	_, _, _, otherCert := signingPair(t, token.KeyECDSAP256, "someone-else")
	strict, err := dauth.GetAccessController("token", map[string]any{
		"realm": w.URL() + "/auth/token", "issuer": "wharf", "service": "wharf", "rootcertbundle": otherCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	if _, err := strict.Authorized(dcontext.WithRequest(context.Background(), req), access("team/app", "pull")); err == nil {
		t.Error("distribution v2.8 accepted a wharf token with a bundle that does not hold wharf's certificate")
	}
}
