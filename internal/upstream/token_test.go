package upstream

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenRegistry is an upstream with a token service that issues a new
// token at every request, counts the requests by scope, and accepts a
// token of the request's repository until it revokes them all. Its blobs
// redirect to another server, which records the Authorization it gets.
type tokenRegistry struct {
	expiresIn string // the expires_in member; "" leaves it out

	mu       sync.Mutex
	issued   int
	byScope  map[string]int
	valid    map[string]string // token → scope
	storage  *httptest.Server
	sawAuthz []string // Authorization headers the storage got
}

func newTokenRegistry(t *testing.T, expiresIn string) (*tokenRegistry, *httptest.Server) {
	t.Helper()
	f := &tokenRegistry{expiresIn: expiresIn, byScope: map[string]int{}, valid: map[string]string{}}
	f.storage = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.sawAuthz = append(f.sawAuthz, r.Header.Get("Authorization"))
		f.mu.Unlock()
		fmt.Fprint(w, "{}")
	}))
	t.Cleanup(f.storage.Close)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// newTokenClient is a tokenRegistry and an anonymous client of it.
func newTokenClient(t *testing.T, expiresIn string) (*tokenRegistry, *Client) {
	t.Helper()
	f, srv := newTokenRegistry(t, expiresIn)
	c, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *tokenRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/token" {
		scope := r.URL.Query().Get("scope")
		f.issued++
		f.byScope[scope]++
		tok := fmt.Sprintf("tok-%d", f.issued)
		f.valid[tok] = scope
		body := fmt.Sprintf(`{"token":%q`, tok)
		if f.expiresIn != "" {
			body += `,"expires_in":` + f.expiresIn
		}
		fmt.Fprint(w, body+"}")
		return
	}
	repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
	repo, _, _ = strings.Cut(repo, "/blobs/")
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if scope, ok := f.valid[tok]; !ok || (r.URL.Path != "/v2/" && scope != "repository:"+repo+":pull") {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="fake"`, r.Host))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if strings.Contains(r.URL.Path, "/blobs/") {
		http.Redirect(w, r, f.storage.URL+"/blob", http.StatusTemporaryRedirect)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	fmt.Fprint(w, manifestBody)
}

func (f *tokenRegistry) requests(scope string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byScope[scope]
}

func (f *tokenRegistry) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.valid)
}

// fakeClock is a clock tests move.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// pullAll sends n manifest GETs of repo at once and fails on any error.
func pullAll(t *testing.T, c *Client, repo string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if _, err := c.GetManifest(t.Context(), repo, "1"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestTokenKeptUntilExpiry: 16 concurrent requests of one repository ask
// for one token; it is used until shortly before its expires_in (a tenth
// of its life, at most 10s), then 16 concurrent requests ask for exactly
// one new one; another repository has a token of its own.
func TestTokenKeptUntilExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		expiresIn string
		life      time.Duration // what the client should take
	}{
		{"expires_in 300", "300", 300 * time.Second},
		{"expires_in 5", "5", 5 * time.Second},
		{"no expires_in: 60s", "", defaultTokenLife},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, c := newTokenClient(t, tc.expiresIn)
			clock := &fakeClock{now: time.Unix(1_000_000, 0)}
			c.now = clock.Now
			const scope = "repository:team/app:pull"

			pullAll(t, c, "team/app", 16)
			if n := f.requests(scope); n != 1 {
				t.Fatalf("16 concurrent requests asked for %d tokens; want 1", n)
			}
			// Just before the refresh point: the same token.
			clock.add(tc.life - refreshMargin(tc.life) - time.Millisecond)
			pullAll(t, c, "team/app", 16)
			if n := f.requests(scope); n != 1 {
				t.Fatalf("requests before the token's refresh point asked for %d tokens; want still 1", n)
			}
			// At the refresh point, before the upstream would refuse it: one
			// new token for all.
			clock.add(time.Millisecond)
			pullAll(t, c, "team/app", 16)
			if n := f.requests(scope); n != 2 {
				t.Fatalf("16 concurrent requests at the refresh point asked for %d tokens in all; want 2", n)
			}
			if n := c.TokenRequests(); n != 2 {
				t.Errorf("TokenRequests() = %d; want 2", n)
			}
			// Another repository: its own token, once.
			pullAll(t, c, "team/other", 8)
			if n := f.requests("repository:team/other:pull"); n != 1 {
				t.Errorf("another repository asked for %d tokens; want 1", n)
			}
		})
	}
}

// TestTokenRefusedIsReplacedOnce: when the upstream refuses every token
// (revoked, new keys) before they expire, 16 concurrent requests get one
// new token between them and succeed.
func TestTokenRefusedIsReplacedOnce(t *testing.T) {
	t.Parallel()
	f, c := newTokenClient(t, "300")
	pullAll(t, c, "team/app", 1)
	f.revokeAll()
	pullAll(t, c, "team/app", 16)
	if n := f.requests("repository:team/app:pull"); n != 2 {
		t.Errorf("after a revocation 16 requests asked for %d tokens in all; want 2", n)
	}
}

// TestRedirectGetsNoToken: a blob redirected to another host (its storage)
// is fetched without the upstream's token.
func TestRedirectGetsNoToken(t *testing.T) {
	t.Parallel()
	f, c := newTokenClient(t, "300")
	body, _, err := c.GetBlob(t.Context(), "team/app", "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sawAuthz) != 1 || f.sawAuthz[0] != "" {
		t.Errorf("the storage got Authorization %q; want one request without", f.sawAuthz)
	}
}
