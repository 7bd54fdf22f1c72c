package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/e2e/harness"
)

// adminClient speaks to the admin API with plain net/http, as a script
// or a web interface would.
type adminClient struct {
	t    *testing.T
	base string
}

// call sends a JSON request (body marshalled unless nil) with the given
// Authorization, and decodes a JSON answer into out (unless nil).
func (c adminClient) call(authz, method, path string, body, out any) (int, http.Header) {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			c.t.Fatalf("%s %s: decoding the answer: %v", method, path, err)
		}
	}
	return res.StatusCode, res.Header
}

// must is call that fails the test unless the status is want.
func (c adminClient) must(want int, authz, method, path string, body, out any) {
	c.t.Helper()
	if got, _ := c.call(authz, method, path, body, out); got != want {
		c.t.Fatalf("%s %s: %d, want %d", method, path, got, want)
	}
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// tokenFor follows a challenge: GET realm?service=…&scope=… with Basic
// credentials, and returns the token and the access it grants.
func tokenFor(t *testing.T, realm, service, scope, user, password string) (string, []struct {
	Type, Name string
	Actions    []string
}) {
	t.Helper()
	q := url.Values{"service": {service}, "scope": {scope}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, realm+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("token for %s as %s: %d %v", scope, user, res.StatusCode, err)
	}
	parts := strings.Split(body.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", body.Token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Access []struct {
			Type, Name string
			Actions    []string
		} `json:"access"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return body.Token, claims.Access
}

// TestAdminAPI drives a real `wharf serve` through its admin API with plain
// net/http: the admin gets a token by following the API's challenge, then
// creates a user, a team, a membership, an ACL rule and a robot's access
// token; the registry then grants exactly what they say, to crane and to
// the token endpoint. Accounts without the admin scope get 403, requests
// without credentials 401 with a challenge.
func TestAdminAPI(t *testing.T) {
	harness.SkipIfShort(t)
	const (
		adminPW = "the admin's e2e password"
		alicePW = "alice's e2e password"
	)
	w := harness.StartWharfCommand(t, []string{"WHARF_ADMIN_PASSWORD=" + adminPW},
		"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth", "token", "--tls", "off")
	defer checkRequestIDs(t, w) // every warning and error of a request carries its id
	t.Cleanup(httpClient.CloseIdleConnections)
	api := adminClient{t: t, base: w.URL() + "/api/v1"}
	ctx := testContext(t, 5*time.Minute)

	// No credentials: 401 and the challenge to follow.
	status, h := api.call("", "GET", "/users", nil, nil)
	challenges := h.Values("WWW-Authenticate")
	if status != http.StatusUnauthorized || len(challenges) != 2 || !strings.HasPrefix(challenges[1], "Basic ") {
		t.Fatalf("no credentials: %d %q", status, challenges)
	}
	realm, service, scope := challengeParam(challenges[0], "realm"), challengeParam(challenges[0], "service"), challengeParam(challenges[0], "scope")
	if realm != w.URL()+"/auth/token" || scope != "admin:api:*" {
		t.Fatalf("challenge %q", challenges[0])
	}
	token, access := tokenFor(t, realm, service, scope, "admin", adminPW)
	if len(access) != 1 || !slices.Equal(access[0].Actions, []string{"*"}) {
		t.Fatalf("admin's token grants %+v", access)
	}
	admin := "Bearer " + token

	// Everything the registry needs, through the API.
	api.must(http.StatusCreated, admin, "POST", "/users", map[string]any{"name": "alice", "password": alicePW}, nil)
	api.must(http.StatusCreated, admin, "POST", "/users", map[string]any{"name": "ci", "robot": true}, nil)
	api.must(http.StatusCreated, admin, "POST", "/teams", map[string]any{"name": "dev"}, nil)
	api.must(http.StatusNoContent, admin, "PUT", "/teams/dev/members/alice", nil, nil)
	api.must(http.StatusNoContent, admin, "PUT", "/teams/dev/members/ci", nil, nil)
	var rule struct {
		ID int64 `json:"id"`
	}
	api.must(http.StatusCreated, admin, "POST", "/acl/rules",
		map[string]any{"match": map[string]any{"labels": map[string]string{"groups": "dev"}, "name": "dev/*"}, "actions": []string{"pull", "push"}, "comment": "the dev team"}, &rule)
	var ciToken struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	api.must(http.StatusCreated, admin, "POST", "/tokens",
		map[string]any{"user": "ci", "scopes": []string{"repository:dev/*:pull"}, "expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}, &ciToken)
	if !strings.HasPrefix(ciToken.Token, "wharf_") {
		t.Fatalf("token create answered %+v", ciToken)
	}
	var ex struct {
		Granted []string `json:"granted"`
		Rule    struct {
			ID int64 `json:"id"`
		} `json:"rule"`
	}
	api.must(http.StatusOK, admin, "GET", "/acl/check?account=alice&scope=repository:dev/app:push", nil, &ex)
	if !slices.Equal(ex.Granted, []string{"push"}) || ex.Rule.ID != rule.ID {
		t.Errorf("acl check: %+v", ex)
	}

	// The token endpoint grants alice what the rule gives her team.
	_, access = tokenFor(t, realm, service, "repository:dev/app:pull,push,delete", "alice", alicePW)
	if len(access) != 1 || !slices.Equal(access[0].Actions, []string{"pull", "push"}) {
		t.Errorf("alice's token for dev/app grants %+v; want pull and push", access)
	}

	// crane pushes as alice and pulls with the robot's token, which cannot push.
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	alice := remote.WithAuth(&authn.Basic{Username: "alice", Password: alicePW})
	ci := remote.WithAuth(&authn.Basic{Username: "ci", Password: ciToken.Token})
	if err := remote.Write(ref(t, w, "dev/app:1"), img, remoteOpts(ctx, alice)...); err != nil {
		t.Fatalf("push as alice: %v", err)
	}
	if err := remote.Write(ref(t, w, "ops/app:1"), img, remoteOpts(ctx, alice)...); err == nil {
		t.Error("alice pushed outside dev/*")
	}
	if _, err := remote.Image(ref(t, w, "dev/app:1"), remoteOpts(ctx, ci)...); err != nil {
		t.Errorf("pull with the robot's token: %v", err)
	}
	if err := remote.Write(ref(t, w, "dev/app:2"), img, remoteOpts(ctx, ci)...); err == nil {
		t.Error("the robot's pull-only token pushed")
	}

	// Not admins: 403, by password, by access token or by bearer token.
	if status, _ := api.call(basicAuth("alice", alicePW), "GET", "/users", nil, nil); status != http.StatusForbidden {
		t.Errorf("alice with Basic: %d, want 403", status)
	}
	if status, _ := api.call(basicAuth("ci", ciToken.Token), "GET", "/users", nil, nil); status != http.StatusForbidden {
		t.Errorf("the robot's token with Basic: %d, want 403", status)
	}
	aliceToken, _ := tokenFor(t, realm, service, scope, "alice", alicePW)
	if status, _ := api.call("Bearer "+aliceToken, "GET", "/users", nil, nil); status != http.StatusForbidden {
		t.Errorf("alice's bearer token: %d, want 403", status)
	}
	if status, _ := api.call(basicAuth("admin", "wrong password"), "GET", "/users", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d, want 401", status)
	}
	// Basic works for the admin too (scripts with curl -u).
	var users struct {
		Users []struct{ Name string } `json:"users"`
	}
	api.must(http.StatusOK, basicAuth("admin", adminPW), "GET", "/users", nil, &users)
	if len(users.Users) != 3 || users.Users[0].Name != "admin" || users.Users[1].Name != "alice" || users.Users[2].Name != "ci" {
		t.Errorf("users %+v; want the built-in admin, alice and ci", users)
	}

	// Disabled, alice can no longer pull; the revoked token no longer works.
	api.must(http.StatusOK, admin, "PATCH", "/users/alice", map[string]any{"disabled": true}, nil)
	if _, err := remote.Image(ref(t, w, "dev/app:1"), remoteOpts(ctx, alice)...); err == nil {
		t.Error("a disabled user pulled")
	}
	api.must(http.StatusOK, admin, "DELETE", "/tokens/"+ciToken.ID, nil, nil)
	if _, err := remote.Image(ref(t, w, "dev/app:1"), remoteOpts(ctx, ci)...); err == nil {
		t.Error("a revoked token pulled")
	}

	log := w.Log()
	for _, secret := range []string{alicePW, adminPW, ciToken.Token} {
		if strings.Contains(log, secret) {
			t.Errorf("the server log holds a secret (%.8s…)", secret)
		}
	}
	if !strings.Contains(log, "admin API: access token created") {
		t.Error("the server log has no audit line for the token")
	}
}
