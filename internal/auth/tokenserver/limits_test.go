package tokenserver_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/authntest"
	"wharf/internal/auth/tokenserver"
	"wharf/internal/edge"
	"wharf/internal/gate"
)

// clientHeader names the client address in these tests, so that one test
// server sees several clients; the real server takes it from the
// connection or a trusted proxy.
const clientHeader = "X-Test-Client"

func fromHeader(r *http.Request) netip.Addr {
	if a, err := netip.ParseAddr(r.Header.Get(clientHeader)); err == nil {
		return a
	}
	return edge.ClientIP(r)
}

func (f *fixture) getFrom(t *testing.T, client, user, pass string, query url.Values) answer {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/auth?"+query.Encode(), nil)
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set(clientHeader, client)
	return send(t, req)
}

func (f *fixture) postFrom(t *testing.T, client string, form url.Values) answer {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+"/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(clientHeader, client)
	return send(t, req)
}

// wantRefused checks a 429 or 503 with Retry-After and an error body in
// both the registry's and OAuth2's shapes.
func wantRefused(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %v", a.status, status, a.body)
	}
	if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want whole seconds ≥ 1", a.header.Get("Retry-After"))
	}
	errs, _ := a.body["errors"].([]any)
	first, _ := errs[0].(map[string]any)
	if len(errs) != 1 || first["code"] != code || first["message"] == "" || a.body["error"] == nil || a.body["access_token"] != nil {
		t.Errorf("body %v, want one error %s and an OAuth2 error", a.body, code)
	}
}

// TestRefreshFailuresLimitOnlyTheAddress: bogus refresh tokens from one
// address get that address 429, and nobody else: they were charged to the
// account "" all clients shared, so ten of them locked every refresh-token
// login (every docker login'ed user's pulls) out.
func TestRefreshFailuresLimitOnlyTheAddress(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, func(c *tokenserver.Config) { c.ClientIP = fromHeader })
	const attacker, user = "198.51.100.66", "192.0.2.10"
	a := f.postFrom(t, user, url.Values{"grant_type": {"password"}, "username": {"test"}, "password": {"test-pw"},
		"service": {"registry"}, "access_type": {"offline"}})
	rt, _ := a.body["refresh_token"].(string)
	if a.status != http.StatusOK || rt == "" {
		t.Fatalf("password grant: %d %v", a.status, a.body)
	}
	refused := 0
	for i := range 40 {
		a := f.postFrom(t, attacker, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fmt.Sprint("bogus-", i)}, "service": {"registry"}})
		switch a.status {
		case http.StatusUnauthorized:
			if refused > 0 {
				t.Fatalf("bogus token %d: 401 after a 429", i)
			}
		case http.StatusTooManyRequests:
			wantRefused(t, a, http.StatusTooManyRequests, "TOOMANYREQUESTS")
			refused++
		default:
			t.Fatalf("bogus token %d: %d %v", i, a.status, a.body)
		}
	}
	if refused == 0 || refused > 10 {
		t.Errorf("the attacker got %d answers 429 of 40; want the ones beyond the address's burst of 30", refused)
	}
	for i := range 3 {
		a := f.postFrom(t, user, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "service": {"registry"}})
		if a.status != http.StatusOK {
			t.Fatalf("the user's refresh %d after the attack: %d %v", i, a.status, a.body)
		}
	}
	// A refresh token from an address with other clients' failures is
	// still refused: the limit is the address's.
	a = f.postFrom(t, attacker, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "service": {"registry"}})
	wantRefused(t, a, http.StatusTooManyRequests, "TOOMANYREQUESTS")
}

// heldAuthn counts the logins that reach the real authenticator, and holds
// each until n have arrived (or a second has passed): 25 guesses "at once"
// whatever the scheduler does.
type heldAuthn struct {
	next    authn.Authenticator
	n       int64
	calls   atomic.Int64
	arrived chan struct{}
	once    sync.Once
}

func (h *heldAuthn) Authenticate(ctx context.Context, user string, pw auth.Secret) (authn.Result, auth.Labels, error) {
	if h.calls.Add(1) == h.n {
		h.once.Do(func() { close(h.arrived) })
	}
	select {
	case <-h.arrived:
	case <-time.After(time.Second):
	}
	return h.next.Authenticate(ctx, user, pw)
}

func (h *heldAuthn) Name() string { return h.next.Name() }

// TestConcurrentGuesses: 25 wrong passwords for one account sent at once
// reach the password check at most as often as the burst (10); the others
// get 429. With a check before and a record after, all 25 were checked.
func TestConcurrentGuesses(t *testing.T) {
	t.Parallel()
	var held *heldAuthn
	f := newFixtureWith(t, func(c *tokenserver.Config) {
		held = &heldAuthn{next: c.Authn, n: 25, arrived: make(chan struct{})}
		c.Authn = held
	})
	var wg sync.WaitGroup
	var unauthorized, limited atomic.Int64
	for i := range 25 {
		wg.Go(func() {
			a := f.get(t, "admin", fmt.Sprint("guess-", i), q("service", "registry"))
			switch a.status {
			case http.StatusUnauthorized:
				unauthorized.Add(1)
			case http.StatusTooManyRequests:
				if a.header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
				limited.Add(1)
			default:
				t.Errorf("guess %d: %d %v", i, a.status, a.body)
			}
		})
	}
	wg.Wait()
	t.Logf("25 concurrent guesses: %d checked (401), %d refused (429)", held.calls.Load(), limited.Load())
	if c := held.calls.Load(); c > 10 || c != unauthorized.Load() {
		t.Errorf("%d guesses reached the password check (%d answered 401); the burst is 10", c, unauthorized.Load())
	}
	if unauthorized.Load()+limited.Load() != 25 {
		t.Errorf("%d + %d answers, want 25", unauthorized.Load(), limited.Load())
	}
}

// TestConcurrentLogins: the reservation does not refuse correct logins of
// one account that merely arrive together (parallel CI jobs).
func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	for i := range 25 {
		wg.Go(func() {
			if a := f.get(t, "test", "test-pw", q("service", "registry")); a.status != http.StatusOK {
				t.Errorf("login %d: %d %v", i, a.status, a.body)
			}
		})
	}
	wg.Wait()
}

// TestAnonymousScopeCap: a request without credentials asks for at most 8
// scopes (the docker client asks for 1 or 2); a logged-in one for 64.
func TestAnonymousScopeCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	scopes := func(n int) url.Values {
		v := q("service", "registry")
		for i := range n {
			v.Add("scope", fmt.Sprintf("repository:public%d:pull", i))
		}
		return v
	}
	a := f.get(t, "", "", scopes(64))
	if a.status != http.StatusBadRequest || a.body["access_token"] != nil {
		t.Fatalf("anonymous, 64 scopes: %d %v; want 400", a.status, a.body)
	}
	msg, _ := a.body["details"].(string)
	for _, want := range []string{"without credentials", "at most 8", "asks for 64", "log in"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if a := f.get(t, "", "", scopes(8)); a.status != http.StatusOK {
		t.Errorf("anonymous, 8 scopes: %d %v", a.status, a.body)
	}
	if a := f.get(t, "admin", "admin-pw", scopes(64)); a.status != http.StatusOK {
		t.Errorf("logged in, 64 scopes: %d %v", a.status, a.body)
	}
	if a := f.get(t, "admin", "admin-pw", scopes(65)); a.status != http.StatusBadRequest {
		t.Errorf("logged in, 65 scopes: %d %v", a.status, a.body)
	}
}

// TestAnonymousRateLimit: a flood of anonymous token requests from one
// address gets 429 with Retry-After; another address, and a logged-in
// client at the same address, are served.
func TestAnonymousRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, func(c *tokenserver.Config) {
		c.ClientIP = fromHeader
		c.AnonymousLimiter = authn.NewRequestLimiter(authn.RequestLimiterOptions{Rate: authn.Rate{Burst: 5, Every: time.Hour}, What: "anonymous token requests"})
	})
	query := q("service", "registry", "scope", "repository:public:pull")
	const flood, other = "198.51.100.7", "192.0.2.20"
	for i := range 5 {
		if a := f.getFrom(t, flood, "", "", query); a.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %v", i, a.status, a.body)
		}
	}
	for range 20 {
		wantRefused(t, f.getFrom(t, flood, "", "", query), http.StatusTooManyRequests, "TOOMANYREQUESTS")
	}
	if a := f.getFrom(t, other, "", "", query); a.status != http.StatusOK {
		t.Errorf("another address: %d %v", a.status, a.body)
	}
	if a := f.getFrom(t, flood, "test", "test-pw", query); a.status != http.StatusOK {
		t.Errorf("a logged-in client at the flooding address: %d %v", a.status, a.body)
	}
}

// TestFullPasswordGate: with every password check slot taken, a login is
// answered 503 with Retry-After quickly, does not count as a failed login,
// is logged once for the burst (not once per request, and not as a backend
// failure), and the server serves again once a slot frees. Not parallel:
// it replaces the process's password gate.
func TestFullPasswordGate(t *testing.T) {
	var gateLog, serverLog lockedBuffer
	f := newFixtureWith(t, func(c *tokenserver.Config) { c.Log = slog.New(slog.NewTextHandler(&serverLog, nil)) })
	release := authntest.FillPasswordGate(t, 20*time.Millisecond, slog.New(slog.NewTextHandler(&gateLog, nil)))
	// More than the account's burst of failures: a busy server is not the
	// client's failure.
	for i, c := range []struct{ user, pass string }{
		{"admin", "admin-pw"}, {"admin", "wrong"}, {"mallory", "x"}, {"admin", "wrong"}, {"admin", "wrong"}, {"admin", "wrong"},
		{"admin", "wrong"}, {"admin", "wrong"}, {"admin", "wrong"}, {"admin", "wrong"}, {"admin", "wrong"}, {"admin", "wrong"},
	} {
		start := time.Now()
		a := f.get(t, c.user, c.pass, q("service", "registry"))
		if i == 0 {
			t.Logf("a login at a full gate answered in %s", time.Since(start))
		}
		wantRefused(t, a, http.StatusServiceUnavailable, "UNAVAILABLE")
		if a.body["error"] != "temporarily_unavailable" {
			t.Errorf("OAuth2 error %v, want temporarily_unavailable", a.body["error"])
		}
	}
	a := f.post(t, url.Values{"grant_type": {"password"}, "username": {"test"}, "password": {"test-pw"}, "service": {"registry"}})
	wantRefused(t, a, http.StatusServiceUnavailable, "UNAVAILABLE")
	if n := strings.Count(gateLog.String(), "too much work at once"); n != 1 {
		t.Errorf("%d log lines for one burst, want 1:\n%s", n, gateLog.String())
	}
	if strings.Contains(serverLog.String(), "backend failed") || strings.Contains(serverLog.String(), "admin-pw") {
		t.Errorf("server log:\n%s", serverLog.String())
	}
	release()
	if a := f.get(t, "admin", "admin-pw", q("service", "registry")); a.status != http.StatusOK {
		t.Errorf("after the slot freed: %d %v", a.status, a.body)
	}
}

// busyAuthz is an external authorizer whose pool is full.
type busyAuthz struct{}

func (busyAuthz) Authorize(context.Context, auth.Request) ([]string, error) {
	return nil, fmt.Errorf("wrapped: %w", &gate.BusyError{What: "external authorizer calls", Slots: 4, RetryAfter: 3 * time.Second})
}
func (busyAuthz) Name() string { return "busy" }

// TestBusyAuthorizer: a full pool of external calls is 503 with the pool's
// Retry-After, not a backend failure in the log.
func TestBusyAuthorizer(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	f := newFixtureWith(t, func(c *tokenserver.Config) {
		c.Authz = busyAuthz{}
		c.Log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	a := f.get(t, "admin", "admin-pw", q("service", "registry", "scope", "repository:a:pull"))
	wantRefused(t, a, http.StatusServiceUnavailable, "UNAVAILABLE")
	if a.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q, want 3", a.header.Get("Retry-After"))
	}
	if strings.Contains(logs.String(), "backend failed") {
		t.Errorf("logged as a failure:\n%s", logs.String())
	}
}
