package tokenserver_test

import (
	"crypto"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/static"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
	"wharf/internal/auth/tokenserver"
	"wharf/internal/metadata"
)

const acl = `
- match: {account: admin}
  actions: ["*"]
- match: {account: test}
  actions: [pull]
- match: {account: "", name: public}
  actions: [pull]
- match: {account: "/^(carol|dave)$/", name: "${account}/*"}
  actions: [pull, push]
`

type fixture struct {
	srv      *httptest.Server
	verifier *token.Verifier
	meta     *metadata.Store
}

func newFixture(t *testing.T, limiter *authn.Limiter) *fixture {
	t.Helper()
	return newFixtureWith(t, func(c *tokenserver.Config) { c.Limiter = limiter })
}

// newFixtureWith builds the fixture's server with more backends after the
// static users, and the Config changed by mutate (nil: none; before New
// fills in the defaults).
func newFixtureWith(t *testing.T, mutate func(*tokenserver.Config), more ...authn.Authenticator) *fixture {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hash := func(pw string) auth.Secret {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return auth.Secret(h)
	}
	users, err := static.New(map[string]static.User{"admin": {Password: hash("admin-pw")}, "test": {Password: hash("test-pw")}, "": {}})
	if err != nil {
		t.Fatal(err)
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(acl), &node); err != nil {
		t.Fatal(err)
	}
	rules, err := authz.ParseACL(&node)
	if err != nil {
		t.Fatal(err)
	}
	a, err := authz.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	key, err := token.GenerateKey(token.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := token.NewIssuer(token.IssuerConfig{Issuer: "wharf-test", Key: key, Expiration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	chain := authn.NewChain(log, append([]authn.Authenticator{users}, more...)...)
	// The sessions are kept where the server keeps them: in the metadata
	// database, through the account database's store.
	cfg := tokenserver.Config{Service: "registry", Issuer: issuer, Authn: chain, Authz: a, Refresh: accounts.NewSessionStore(meta), Sessions: chain, Log: log}
	if mutate != nil {
		mutate(&cfg)
	}
	ts, err := tokenserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	v, err := token.NewVerifier(token.VerifierConfig{Issuer: "wharf-test", Service: "registry", Keys: []crypto.PublicKey{issuer.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, verifier: v, meta: meta}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (f *fixture) get(t *testing.T, user, pass string, query url.Values) answer {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/auth?"+query.Encode(), nil)
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	return send(t, req)
}

func (f *fixture) post(t *testing.T, form url.Values) answer {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+"/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, req)
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return answer{res.StatusCode, res.Header, body}
}

// granted verifies the answer's token and returns what it grants on name.
func (f *fixture) granted(t *testing.T, a answer, key, name string) []string {
	t.Helper()
	raw, _ := a.body[key].(string)
	c, err := f.verifier.Verify(raw)
	if err != nil {
		t.Fatalf("issued token does not verify: %v (answer %d %v)", err, a.status, a.body)
	}
	for _, acc := range c.Access {
		if acc.Name == name {
			return acc.Actions
		}
	}
	return nil
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestGrants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	tests := []struct {
		name, user, pass, scope, repo string
		want                          string
	}{
		{"admin gets everything asked", "admin", "admin-pw", "repository:private:pull,push,delete", "private", "delete,pull,push"},
		{"test asks push, gets pull only", "test", "test-pw", "repository:private:pull,push", "private", "pull"},
		{"anonymous on public", "", "", "repository:public:pull,push", "public", "pull"},
		{"anonymous on private gets nothing", "", "", "repository:private:pull", "private", ""},
		{"test cannot read the catalog", "test", "test-pw", "registry:catalog:*", "catalog", ""},
		{"admin reads the catalog", "admin", "admin-pw", "registry:catalog:*", "catalog", "*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := f.get(t, tc.user, tc.pass, q("service", "registry", "scope", tc.scope))
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %v", a.status, a.body)
			}
			if got := strings.Join(f.granted(t, a, "token", tc.repo), ","); got != tc.want {
				t.Errorf("granted %q, want %q", got, tc.want)
			}
			if a.body["token"] != a.body["access_token"] || a.body["expires_in"] == nil || a.body["issued_at"] == nil {
				t.Errorf("response shape: %v", a.body)
			}
			if _, ok := a.body["refresh_token"]; ok {
				t.Errorf("refresh token without offline_token: %v", a.body)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	tests := []struct {
		name, user, pass string
		query            url.Values
		status           int
	}{
		{"wrong password", "admin", "nope", q("service", "registry"), http.StatusUnauthorized},
		{"unknown user", "mallory", "x", q("service", "registry"), http.StatusUnauthorized},
		{"empty user name", "", "pw", q("service", "registry"), http.StatusUnauthorized},
		{"other service", "admin", "admin-pw", q("service", "elsewhere"), http.StatusBadRequest},
		{"malformed scope", "admin", "admin-pw", q("service", "registry", "scope", "repository:x"), http.StatusBadRequest},
		{"account differs from credentials", "test", "test-pw", q("service", "registry", "account", "admin"), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := f.get(t, tc.user, tc.pass, tc.query)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %v", a.status, tc.status, a.body)
			}
			if a.body["token"] != nil || a.body["access_token"] != nil {
				t.Fatalf("a refused request got a token: %v", a.body)
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %v", a.header)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	lim := authn.NewLimiter(authn.LimiterOptions{
		PerAccount: authn.Rate{Burst: 3, Every: time.Hour},
		PerAddress: authn.Rate{Burst: 100, Every: time.Hour},
	})
	f := newFixture(t, lim)
	for i := range 3 {
		if a := f.get(t, "admin", "wrong", q("service", "registry")); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i, a.status)
		}
	}
	a := f.get(t, "admin", "admin-pw", q("service", "registry"))
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: status %d Retry-After %q, want 429 with Retry-After", a.status, a.header.Get("Retry-After"))
	}
	if a := f.get(t, "test", "test-pw", q("service", "registry")); a.status != http.StatusOK {
		t.Errorf("another account was limited too: %d", a.status)
	}
}

func TestOAuth2AndRefreshTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	a := f.post(t, url.Values{"grant_type": {"password"}, "username": {"test"}, "password": {"test-pw"},
		"service": {"registry"}, "scope": {"repository:private:pull,push"}, "client_id": {"buildkit"}, "access_type": {"offline"}})
	if a.status != http.StatusOK {
		t.Fatalf("password grant: %d %v", a.status, a.body)
	}
	if got := f.granted(t, a, "access_token", "private"); strings.Join(got, ",") != "pull" {
		t.Errorf("password grant granted %v", got)
	}
	rt, _ := a.body["refresh_token"].(string)
	if len(rt) < 40 {
		t.Fatalf("no refresh token: %v", a.body)
	}
	// The refresh token yields new access tokens, still bound to test's rights.
	a = f.post(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "service": {"registry"},
		"scope": {"repository:private:pull,push"}, "client_id": {"buildkit"}})
	if a.status != http.StatusOK {
		t.Fatalf("refresh grant: %d %v", a.status, a.body)
	}
	if got := f.granted(t, a, "access_token", "private"); strings.Join(got, ",") != "pull" {
		t.Errorf("refresh grant escalated to %v", got)
	}
	// The GET form with offline_token (docker login) returns one too.
	g := f.get(t, "admin", "admin-pw", q("service", "registry", "offline_token", "true", "client_id", "docker"))
	if _, ok := g.body["refresh_token"].(string); !ok {
		t.Errorf("GET with offline_token=true: no refresh token: %v", g.body)
	}
	// Revoked, wrong and mangled refresh tokens are refused.
	if _, err := f.meta.RevokeRefreshTokens(t.Context(), "test"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{rt, "garbage", "", strings.Repeat("x", 300)} {
		a = f.post(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {bad}, "service": {"registry"}})
		if a.status != http.StatusUnauthorized || a.body["access_token"] != nil {
			t.Errorf("refresh token %.10q: status %d %v, want 401", bad, a.status, a.body)
		}
	}
	a = f.post(t, url.Values{"grant_type": {"password"}, "username": {"test"}, "password": {"wrong"}, "service": {"registry"}})
	if a.status != http.StatusUnauthorized {
		t.Errorf("password grant with a wrong password: %d", a.status)
	}
	a = f.post(t, url.Values{"grant_type": {"client_credentials"}, "service": {"registry"}})
	if a.status != http.StatusBadRequest {
		t.Errorf("unsupported grant: %d", a.status)
	}
}
