package adminapi_test

import (
	"bytes"
	"crypto"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/accounts"
	"wharf/internal/adminapi"
	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/static"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
	"wharf/internal/metadata"
	"wharf/internal/retention"
	"wharf/internal/testserver"
)

const (
	adminPassword = "the admin's password"
	service       = "wharf"
	realm         = "https://registry.example.com/auth/token"
)

// env is an API over a real SQLite database, wired as `wharf serve` wires
// it: a configured admin first, then the database users, behind the login
// cache; the configured ACL (admin: everything), then the database's,
// under the guard.
type env struct {
	t      *testing.T
	url    string
	api    *adminapi.API
	store  *metadata.Store
	issuer *token.Issuer
	log    *testserver.SyncBuffer
	// changed records the repositories RepositoryChanged was told of.
	changed *testserver.SyncBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, false)
}

// newBuiltinEnv is newEnv with wharf serve's built-in admin instead of a
// configured one: a database account with the same password.
func newBuiltinEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, true)
}

// hooks change the account service's options and the API's configuration
// of an env.
type hooks struct {
	accounts func(*accounts.Options)
	api      func(*adminapi.Config)
}

// newEnvWith builds the env, changed by h when given.
func newEnvWith(t *testing.T, builtin bool, h ...hooks) *env {
	t.Helper()
	ctx := t.Context()
	store, err := metadata.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logs, changed := &testserver.SyncBuffer{}, &testserver.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hash, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]static.User{"admin": {Password: auth.Secret(hash)}}
	if builtin {
		users = map[string]static.User{}
	}
	st, err := static.NewWithOptions(users, static.Options{SkipDummy: true})
	if err != nil {
		t.Fatal(err)
	}
	// The static hash sets the cost of the dummy comparison, as in the server.
	live := accounts.NewLive(store, accounts.LiveOptions{Log: log, ExtraHashes: [][]byte{hash}})
	chain := authn.NewChain(log, st, accounts.NewAuthenticator(live))
	authenticator := accounts.NewFresh(live, authn.NewCache(chain, authn.CacheOptions{}))
	admin := "admin"
	configACL, err := authz.New([]authz.Rule{{Match: authz.Match{Account: &admin}, Actions: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	authorizer := accounts.NewGuard(authz.Chain{configACL, accounts.NewACL(live)}, live, log)
	key, err := token.GenerateKey(token.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := token.NewIssuer(token.IssuerConfig{Issuer: "wharf", Key: key, Expiration: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := token.NewVerifier(token.VerifierConfig{Issuer: "wharf", Service: service, Keys: []crypto.PublicKey{issuer.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	layers, configured := []accounts.Layer{{Name: "configuration", ACL: configACL}}, map[string]auth.Labels{"admin": nil}
	opts := accounts.Options{Cost: bcrypt.MinCost, Reserved: func(name string) (string, bool) {
		return "the configuration", name == "admin"
	}, Layers: layers, Configured: configured, TokenService: service}
	if builtin {
		configured = map[string]auth.Labels{}
		opts.Reserved, opts.Configured, opts.Builtin = nil, configured, "admin"
	}
	for _, m := range h {
		if m.accounts != nil {
			m.accounts(&opts)
		}
	}
	svc := accounts.NewService(store, opts)
	if builtin {
		if err := svc.AddBuiltinHash(ctx, hash); err != nil {
			t.Fatal(err)
		}
	}
	cfg := adminapi.Config{
		Service: svc, Live: live, Verifier: verifier, Authn: authenticator, Authz: authorizer,
		Limiter: authn.NewLimiter(authn.LimiterOptions{}), TokenService: service,
		Realm:             func(*http.Request) string { return realm },
		Layers:            layers,
		Configured:        configured,
		Log:               log,
		Meta:              store,
		RepositoryChanged: func(repo string) { _, _ = changed.Write([]byte(repo + "\n")) },
		Retention: &retention.Runner{Meta: store, Log: log,
			Policies: []retention.Policy{{Repositories: "app", KeepLast: 1}}},
	}
	for _, m := range h {
		if m.api != nil {
			m.api(&cfg)
		}
	}
	api, err := adminapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, api: api, store: store, issuer: issuer, log: logs, changed: changed}
}

// bearer issues a token of this server for account with access.
func (e *env) bearer(account string, access ...auth.Access) string {
	e.t.Helper()
	tok, err := e.issuer.Issue(e.t.Context(), account, service, access)
	if err != nil {
		e.t.Fatal(err)
	}
	return "Bearer " + tok.Raw
}

var adminScope = auth.Access{Type: "admin", Name: "api", Actions: []string{"*"}}

func basic(user, password string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, password)
	return r.Header.Get("Authorization")
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return string(r.body) }

// errorOf decodes an error body.
func (r response) errorOf(t *testing.T) (code, message, field string) {
	t.Helper()
	var b struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code == "" {
		t.Fatalf("not an error body (%v): %s", err, r.body)
	}
	return b.Error.Code, b.Error.Message, b.Error.Field
}

// do sends a request; body is marshalled to JSON unless it is a string.
func (e *env) do(authz, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// must sends a request and fails the test unless the status is want; it
// decodes the body into out when out is not nil.
func (e *env) must(want int, authz, method, path string, body, out any, headers ...string) response {
	e.t.Helper()
	res := e.do(authz, method, path, body, headers...)
	if res.status != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.status, want, res.body)
	}
	if out != nil {
		if err := json.Unmarshal(res.body, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, res.body, err)
		}
	}
	return res
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)

	t.Run("no credentials: 401 with both challenges", func(t *testing.T) {
		res := e.do("", "GET", "/api/v1/users", nil)
		if res.status != http.StatusUnauthorized {
			t.Fatalf("status %d: %s", res.status, res)
		}
		ch := res.header.Values("WWW-Authenticate")
		want := `Bearer realm="` + realm + `",service="wharf",scope="admin:api:*"`
		if len(ch) != 2 || ch[0] != want || !strings.HasPrefix(ch[1], `Basic realm="wharf"`) {
			t.Errorf("challenges %q; want %q and a Basic one", ch, want)
		}
		if code, _, _ := res.errorOf(t); code != "unauthorized" {
			t.Errorf("code %q", code)
		}
	})
	t.Run("bearer with the admin scope", func(t *testing.T) {
		e.must(http.StatusOK, admin, "GET", "/api/v1/users", nil, nil)
	})
	t.Run("bearer without the admin scope: 403", func(t *testing.T) {
		res := e.do(e.bearer("admin", auth.Access{Type: "repository", Name: "a", Actions: []string{"*"}},
			auth.Access{Type: "admin", Name: "api", Actions: []string{"pull"}}), "GET", "/api/v1/users", nil)
		if res.status != http.StatusForbidden || !strings.Contains(res.header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Fatalf("%d %v: %s", res.status, res.header, res)
		}
		if code, _, _ := res.errorOf(t); code != "forbidden" {
			t.Errorf("code %q", code)
		}
	})
	t.Run("bearer forged or for another service: 401", func(t *testing.T) {
		other, err := e.issuer.Issue(t.Context(), "admin", "elsewhere", []auth.Access{adminScope})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"Bearer not-a-token", "Bearer " + other.Raw, "Bearer " + strings.TrimPrefix(admin, "Bearer ") + "x"} {
			res := e.do(h, "GET", "/api/v1/users", nil)
			if res.status != http.StatusUnauthorized || !strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("%.40s…: %d %v", h, res.status, res.header)
			}
		}
	})
	t.Run("other schemes: 401", func(t *testing.T) {
		if res := e.do("Digest x", "GET", "/api/v1/users", nil); res.status != http.StatusUnauthorized {
			t.Errorf("Digest: %d", res.status)
		}
	})
	t.Run("basic as admin", func(t *testing.T) {
		e.must(http.StatusOK, basic("admin", adminPassword), "GET", "/api/v1/teams", nil, nil)
	})
	t.Run("basic, wrong password: 401, then rate-limited", func(t *testing.T) {
		res := e.do(basic("admin", "wrong"), "GET", "/api/v1/users", nil)
		if res.status != http.StatusUnauthorized || len(res.header.Values("WWW-Authenticate")) != 2 {
			t.Fatalf("%d %v", res.status, res.header)
		}
		limited := false
		for range 20 {
			res = e.do(basic("mallory", "guess"), "GET", "/api/v1/users", nil)
			if res.status == http.StatusTooManyRequests {
				limited = res.header.Get("Retry-After") != ""
				break
			}
		}
		if !limited {
			t.Errorf("20 failed logins were never rate-limited with Retry-After: last %d %v", res.status, res.header)
		}
	})
	t.Run("unknown endpoint and method", func(t *testing.T) {
		res := e.do(admin, "GET", "/api/v1/nothing", nil)
		if code, _, _ := res.errorOf(t); res.status != http.StatusNotFound || code != "not_found" {
			t.Errorf("unknown path: %d %s", res.status, res)
		}
		res = e.do(admin, "PUT", "/api/v1/users", nil)
		if code, msg, _ := res.errorOf(t); res.status != http.StatusMethodNotAllowed || code != "method_not_allowed" || !strings.Contains(msg, "GET, POST") {
			t.Errorf("wrong method: %d %s", res.status, res)
		}
		if res := e.do("", "GET", "/api/v1/nothing", nil); res.status != http.StatusUnauthorized {
			t.Errorf("unknown path without credentials: %d; want 401 before anything else", res.status)
		}
	})
}

type user struct {
	Name     string              `json:"name"`
	Robot    bool                `json:"robot"`
	Disabled bool                `json:"disabled"`
	Teams    []string            `json:"teams"`
	Labels   map[string][]string `json:"labels"`
}

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	const alicePW = "alice's first password"

	var u user
	res := e.must(http.StatusCreated, admin, "POST", "/api/v1/users",
		map[string]any{"name": "alice", "password": alicePW, "labels": map[string][]string{"org": {"acme"}}}, &u)
	if u.Name != "alice" || u.Robot || u.Disabled || u.Labels["org"][0] != "acme" || u.Teams == nil {
		t.Errorf("created %+v", u)
	}
	if loc := res.header.Get("Location"); loc != "/api/v1/users/alice" {
		t.Errorf("Location %q", loc)
	}
	if strings.Contains(res.String(), "$2") || strings.Contains(res.String(), "password") {
		t.Errorf("the answer shows a password or its hash: %s", res)
	}
	e.must(http.StatusCreated, admin, "POST", "/api/v1/users", map[string]any{"name": "ci", "robot": true}, &u)
	if !u.Robot {
		t.Errorf("robot: %+v", u)
	}

	for _, tc := range []struct {
		name   string
		body   any
		ctype  string
		status int
		field  string
	}{
		{"taken", map[string]any{"name": "alice", "password": "another long password"}, "", 409, "name"},
		{"reserved", map[string]any{"name": "admin", "password": "another long password"}, "", 400, "name"},
		{"bad name", map[string]any{"name": "a/b", "password": "another long password"}, "", 400, "name"},
		{"short password", map[string]any{"name": "bob", "password": "short-pw"}, "", 400, "password"},
		{"no password", map[string]any{"name": "bob"}, "", 400, "password"},
		{"robot with password", map[string]any{"name": "bob", "robot": true, "password": "another long password"}, "", 400, "password"},
		{"reserved label", map[string]any{"name": "bob", "password": "another long password", "labels": map[string][]string{"groups": {"x"}}}, "", 400, "labels"},
		{"unknown member", map[string]any{"name": "bob", "password": "another long password", "admin": true}, "", 400, "admin"},
		{"wrong type", map[string]any{"name": "bob", "password": 12345678901234}, "", 400, "password"},
		{"not JSON", `{"name": "bob",`, "", 400, ""},
		{"two values", `{"name": "bob", "password": "another long password"} {}`, "", 400, ""},
		{"empty", ` `, "", 400, ""},
		{"form", `name=bob`, "application/x-www-form-urlencoded", 415, ""},
		{"too large", `{"name": "` + strings.Repeat("b", 70<<10) + `"}`, "", 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.ctype != "" {
				headers = []string{"Content-Type", tc.ctype}
			}
			res := e.do(admin, "POST", "/api/v1/users", tc.body, headers...)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res)
			}
			if _, msg, field := res.errorOf(t); field != tc.field || msg == "" {
				t.Errorf("field %q, want %q (%s)", field, tc.field, msg)
			}
			for _, secret := range []string{"another long password", "short-pw", "12345678901234"} {
				if strings.Contains(res.String(), secret) {
					t.Errorf("the error quotes the password: %s", res)
				}
			}
		})
	}

	e.must(http.StatusOK, admin, "GET", "/api/v1/users/alice", nil, &u)
	if code, _, _ := e.do(admin, "GET", "/api/v1/users/nobody", nil).errorOf(t); code != "not_found" {
		t.Errorf("missing user: %s", code)
	}

	// Disable, enable, labels.
	e.must(http.StatusOK, admin, "PATCH", "/api/v1/users/alice", map[string]any{"disabled": true}, &u)
	if !u.Disabled {
		t.Errorf("not disabled: %+v", u)
	}
	if res := e.do(basic("alice", alicePW), "GET", "/api/v1/users", nil); res.status != http.StatusUnauthorized {
		t.Errorf("a disabled user logged in: %d", res.status)
	}
	u = user{}
	e.must(http.StatusOK, admin, "PATCH", "/api/v1/users/alice", map[string]any{"disabled": false, "labels": map[string][]string{"tier": {"gold"}}}, &u)
	if u.Disabled || len(u.Labels) != 1 || u.Labels["tier"][0] != "gold" {
		t.Errorf("after enable and labels: %+v", u)
	}
	if res := e.do(admin, "PATCH", "/api/v1/users/alice", map[string]any{"labels": map[string][]string{"wharf.x": {"y"}}, "disabled": true}); res.status != 400 {
		t.Errorf("reserved label: %d", res.status)
	}
	if e.must(http.StatusOK, admin, "GET", "/api/v1/users/alice", nil, &u); u.Disabled {
		t.Error("a refused PATCH changed the account")
	}
	if res := e.do(admin, "PATCH", "/api/v1/users/alice", map[string]any{}); res.status != 400 {
		t.Errorf("empty PATCH: %d", res.status)
	}

	// A bearer token of a database account disabled since is refused.
	e.must(http.StatusCreated, admin, "POST", "/api/v1/acl/rules", map[string]any{"match": map[string]any{"account": "alice", "type": "admin"}, "actions": []string{"*"}}, nil)
	aliceBearer := e.bearer("alice", adminScope)
	e.must(http.StatusOK, aliceBearer, "GET", "/api/v1/users", nil, nil)
	e.must(http.StatusOK, admin, "PATCH", "/api/v1/users/alice", map[string]any{"disabled": true}, nil)
	if res := e.do(aliceBearer, "GET", "/api/v1/users", nil); res.status != http.StatusUnauthorized {
		t.Errorf("a disabled account's bearer token: %d", res.status)
	}
	e.must(http.StatusOK, admin, "PATCH", "/api/v1/users/alice", map[string]any{"disabled": false}, nil)
	var rules struct{ Rules []rule }
	e.must(http.StatusOK, admin, "GET", "/api/v1/acl/rules", nil, &rules)
	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/acl/rules/"+itoa(rules.Rules[0].ID), nil, nil)

	// Not an admin: 403, whatever the password.
	if res := e.do(basic("alice", alicePW), "GET", "/api/v1/users", nil); res.status != http.StatusForbidden {
		t.Errorf("alice (not granted admin:api:*): %d %s", res.status, res)
	}

	// A new password: the old one stops working.
	const newPW = "alice's second password"
	e.must(http.StatusNoContent, admin, "PUT", "/api/v1/users/alice/password", map[string]any{"password": newPW}, nil)
	if res := e.do(basic("alice", alicePW), "GET", "/api/v1/users", nil); res.status != http.StatusUnauthorized {
		t.Errorf("the old password still works: %d", res.status)
	}
	if res := e.do(basic("alice", newPW), "GET", "/api/v1/users", nil); res.status != http.StatusForbidden {
		t.Errorf("the new password: %d, want 403 (logged in, not an admin)", res.status)
	}
	if _, _, field := e.do(admin, "PUT", "/api/v1/users/alice/password", map[string]any{"password": "short"}).errorOf(t); field != "password" {
		t.Errorf("short password: field %q", field)
	}
	if res := e.do(admin, "PUT", "/api/v1/users/ci/password", map[string]any{"password": newPW}); res.status != 400 {
		t.Errorf("a robot got a password: %d", res.status)
	}
	if res := e.do(admin, "PUT", "/api/v1/users/nobody/password", map[string]any{"password": newPW}); res.status != 404 {
		t.Errorf("password of a missing user: %d", res.status)
	}

	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/users/alice", nil, nil)
	if res := e.do(admin, "DELETE", "/api/v1/users/alice", nil); res.status != 404 {
		t.Errorf("deleting twice: %d", res.status)
	}

	for _, secret := range []string{alicePW, newPW, "another long password", "short-pw", adminPassword} {
		if strings.Contains(e.log.String(), secret) {
			t.Errorf("the log holds a password (%q)", secret)
		}
	}
	if !strings.Contains(e.log.String(), `msg="admin API: user created" component=adminapi by=admin via=bearer`) {
		t.Errorf("changes are not in the audit log:\n%s", e.log.String())
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	svc := accounts.NewService(e.store, accounts.Options{Cost: bcrypt.MinCost})
	var want []string
	for _, n := range []string{"u3", "u1", "u5", "u2", "u4"} {
		if err := svc.AddUser(t.Context(), accounts.NewUser{Name: n, Robot: true}); err != nil {
			t.Fatal(err)
		}
		if err := svc.AddTeam(t.Context(), "t"+n); err != nil {
			t.Fatal(err)
		}
		want = append(want, n)
	}
	slices.Sort(want)
	var got []string
	next, pages := "/api/v1/users?n=2", 0
	for next != "" {
		var page struct {
			Users []user `json:"users"`
			Next  string `json:"next"`
		}
		res := e.must(http.StatusOK, admin, "GET", next, nil, &page)
		if page.Next != "" && res.header.Get("Link") != "<"+page.Next+`>; rel="next"` {
			t.Errorf("Link %q, next %q", res.header.Get("Link"), page.Next)
		}
		for _, u := range page.Users {
			got = append(got, u.Name)
		}
		next = page.Next
		if pages++; pages > 5 {
			t.Fatal("too many pages")
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("paged users %v in %d pages; want %v in 3", got, pages, want)
	}
	var teams struct {
		Teams []struct{ Name string } `json:"teams"`
		Next  string                  `json:"next"`
	}
	e.must(http.StatusOK, admin, "GET", "/api/v1/teams?n=3&last=tu2", nil, &teams)
	if len(teams.Teams) != 3 || teams.Teams[0].Name != "tu3" || teams.Next != "" {
		t.Errorf("teams after tu2: %+v", teams)
	}
	for _, bad := range []string{"n=0", "n=1001", "n=x", "n="} {
		if _, _, field := e.do(admin, "GET", "/api/v1/users?"+bad, nil).errorOf(t); field != "n" {
			t.Errorf("%s: field %q", bad, field)
		}
	}
}

func TestTeams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	e.must(http.StatusCreated, admin, "POST", "/api/v1/users", map[string]any{"name": "bob", "robot": true}, nil)
	var team struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	e.must(http.StatusCreated, admin, "POST", "/api/v1/teams", map[string]any{"name": "dev"}, &team)
	if team.Name != "dev" || team.Members == nil || len(team.Members) != 0 {
		t.Errorf("created %+v", team)
	}
	if res := e.do(admin, "POST", "/api/v1/teams", map[string]any{"name": "dev"}); res.status != 409 {
		t.Errorf("duplicate team: %d", res.status)
	}
	if _, _, field := e.do(admin, "POST", "/api/v1/teams", map[string]any{"name": "a b"}).errorOf(t); field != "name" {
		t.Errorf("bad team name: field %q", field)
	}
	e.must(http.StatusNoContent, admin, "PUT", "/api/v1/teams/dev/members/bob", nil, nil)
	e.must(http.StatusNoContent, admin, "PUT", "/api/v1/teams/dev/members/bob", nil, nil) // idempotent
	if res := e.do(admin, "PUT", "/api/v1/teams/dev/members/nobody", nil); res.status != 404 {
		t.Errorf("missing user: %d", res.status)
	}
	e.must(http.StatusOK, admin, "GET", "/api/v1/teams/dev", nil, &team)
	if !slices.Equal(team.Members, []string{"bob"}) {
		t.Errorf("members %v", team.Members)
	}
	var u user
	if e.must(http.StatusOK, admin, "GET", "/api/v1/users/bob", nil, &u); !slices.Equal(u.Teams, []string{"dev"}) {
		t.Errorf("bob's teams %v", u.Teams)
	}
	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/teams/dev/members/bob", nil, nil)
	if res := e.do(admin, "DELETE", "/api/v1/teams/dev/members/bob", nil); res.status != 404 {
		t.Errorf("removing a non-member: %d", res.status)
	}
	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/teams/dev", nil, nil)
	if res := e.do(admin, "GET", "/api/v1/teams/dev", nil); res.status != 404 {
		t.Errorf("deleted team: %d", res.status)
	}
}

// TestDatabaseDown: a database that fails gives 503 with a generic
// message; the reason is in the log only.
func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	e.store.Close()
	res := e.do(admin, "GET", "/api/v1/users", nil)
	if code, msg, _ := res.errorOf(t); res.status != http.StatusServiceUnavailable || code != "unavailable" || strings.Contains(msg, "sql") {
		t.Errorf("%d %s", res.status, res)
	}
	if res.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if res := e.do(basic("admin", adminPassword), "GET", "/api/v1/users", nil); res.status != http.StatusServiceUnavailable {
		t.Errorf("Basic login with the database down: %d", res.status)
	}
	if !strings.Contains(e.log.String(), "database is closed") {
		t.Errorf("the reason of the failure is not logged:\n%s", e.log.String())
	}
}
