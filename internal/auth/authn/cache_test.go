package authn_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/static"
)

// counting counts the calls that reach the wrapped backend: for a password
// backend, the bcrypt comparisons.
type counting struct {
	authn.Authenticator
	calls atomic.Int64
}

func (c *counting) Authenticate(ctx context.Context, u string, p auth.Secret) (authn.Result, auth.Labels, error) {
	c.calls.Add(1)
	return c.Authenticator.Authenticate(ctx, u, p)
}

var aliceLabels = auth.Labels{"group": {"dev"}}

// staticUsers is a real bcrypt backend: alice/pw, bob/pw, carol/pw.
func staticUsers(t testing.TB) *counting {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a, err := static.New(map[string]static.User{
		"alice": {Password: auth.Secret(h), Labels: aliceLabels},
		"bob":   {Password: auth.Secret(h)},
		"carol": {Password: auth.Secret(h)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &counting{Authenticator: a}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type attempt struct {
	user, password string
	want           authn.Result
}

func TestCache(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		opts      authn.CacheOptions
		attempts  []attempt
		advance   time.Duration // between the attempts
		wantCalls int64
	}{
		{"ten logins, one bcrypt", authn.CacheOptions{}, repeat(attempt{"alice", "pw", authn.Accepted}, 10), 0, 1},
		{"failures are never cached", authn.CacheOptions{}, repeat(attempt{"alice", "wrong", authn.WrongPassword}, 3), 0, 3},
		{"unknown users are never cached", authn.CacheOptions{}, repeat(attempt{"mallory", "pw", authn.NoMatch}, 3), 0, 3},
		{"a wrong password after a right one", authn.CacheOptions{}, []attempt{{"alice", "pw", authn.Accepted}, {"alice", "wrong", authn.WrongPassword}, {"alice", "pw", authn.Accepted}}, 0, 2},
		{"users are separate", authn.CacheOptions{}, []attempt{{"alice", "pw", authn.Accepted}, {"bob", "pw", authn.Accepted}, {"alice", "pw", authn.Accepted}}, 0, 2},
		{"within the TTL", authn.CacheOptions{TTL: time.Minute}, repeat(attempt{"alice", "pw", authn.Accepted}, 3), 29 * time.Second, 1},
		{"after the TTL", authn.CacheOptions{TTL: time.Minute}, repeat(attempt{"alice", "pw", authn.Accepted}, 3), 61 * time.Second, 3},
		{"default TTL is five minutes", authn.CacheOptions{}, repeat(attempt{"alice", "pw", authn.Accepted}, 3), 4*time.Minute + 59*time.Second, 2},
		{"least recently used goes first", authn.CacheOptions{MaxEntries: 2}, []attempt{
			{"alice", "pw", authn.Accepted}, {"bob", "pw", authn.Accepted}, {"alice", "pw", authn.Accepted}, // alice is fresher
			{"carol", "pw", authn.Accepted}, // bob goes
			{"alice", "pw", authn.Accepted}, {"bob", "pw", authn.Accepted},
		}, 0, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			backend := staticUsers(t)
			clk := &clock{now: time.Unix(1e9, 0)}
			tc.opts.Now = clk.Now
			c := authn.NewCache(backend, tc.opts)
			for i, a := range tc.attempts {
				if i > 0 {
					clk.Add(tc.advance)
				}
				res, labels, err := c.Authenticate(context.Background(), a.user, auth.Secret(a.password))
				if err != nil || res != a.want {
					t.Fatalf("attempt %d (%s): %v, %v; want %v", i, a.user, res, err, a.want)
				}
				if a.user == "alice" && res == authn.Accepted {
					authn.TakeStamp(labels)
					if diff := cmp.Diff(aliceLabels, labels); diff != "" {
						t.Errorf("attempt %d labels (-want +got):\n%s", i, diff)
					}
				}
			}
			if got := backend.calls.Load(); got != tc.wantCalls {
				t.Errorf("backend called %d times, want %d", got, tc.wantCalls)
			}
		})
	}
}

func repeat(a attempt, n int) []attempt {
	out := make([]attempt, n)
	for i := range out {
		out[i] = a
	}
	return out
}

func TestCacheConcurrentLoginsShareOneCheck(t *testing.T) {
	t.Parallel()
	backend := staticUsers(t)
	c := authn.NewCache(backend, authn.CacheOptions{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if res, _, err := c.Authenticate(context.Background(), "alice", "pw"); res != authn.Accepted || err != nil {
				t.Errorf("%v, %v", res, err)
			}
		})
	}
	wg.Wait()
	// Whoever came while the first check ran waited for it; whoever came
	// after found it cached.
	if got := backend.calls.Load(); got != 1 {
		t.Errorf("backend called %d times, want 1", got)
	}
}

func TestCacheErrorsAreNotCached(t *testing.T) {
	t.Parallel()
	calls := &atomic.Int64{}
	c := authn.NewCache(fake{name: "down", err: errDown, calls: calls}, authn.CacheOptions{})
	for range 3 {
		if _, _, err := c.Authenticate(context.Background(), "alice", "pw"); !errors.Is(err, errDown) {
			t.Fatalf("error = %v", err)
		}
	}
	if calls.Load() != 3 || c.Len() != 0 {
		t.Errorf("calls = %d, entries = %d", calls.Load(), c.Len())
	}
}

func TestCachePurge(t *testing.T) {
	t.Parallel()
	backend := staticUsers(t)
	c := authn.NewCache(backend, authn.CacheOptions{})
	ctx := context.Background()
	c.Authenticate(ctx, "alice", "pw")
	c.Authenticate(ctx, "bob", "pw")
	if c.Len() != 2 {
		t.Fatalf("Len = %d", c.Len())
	}
	c.Purge()
	c.Authenticate(ctx, "alice", "pw")
	if got := backend.calls.Load(); got != 3 {
		t.Errorf("backend called %d times, want 3", got)
	}
}

// exactly accepts one user and password.
type exactly struct{ user, password string }

func (e exactly) Authenticate(_ context.Context, u string, p auth.Secret) (authn.Result, auth.Labels, error) {
	if u == e.user && p.Reveal() == e.password {
		return authn.Accepted, nil, nil
	}
	return authn.WrongPassword, nil, nil
}

func (exactly) Name() string { return "exactly" }

// The cache key cannot be forged by moving bytes between user and password.
func TestCacheKeyIsUnambiguous(t *testing.T) {
	t.Parallel()
	c := authn.NewCache(exactly{"a", "b\x00c"}, authn.CacheOptions{})
	ctx := context.Background()
	if res, _, _ := c.Authenticate(ctx, "a", "b\x00c"); res != authn.Accepted {
		t.Fatal("setup")
	}
	if res, _, _ := c.Authenticate(ctx, "a\x00b", "c"); res != authn.WrongPassword {
		t.Errorf("user %q got the cached login of %q", "a\x00b", "a")
	}
}

// blocking holds every call until released.
type blocking struct {
	started chan struct{}
	release chan struct{}
}

func (b blocking) Authenticate(ctx context.Context, _ string, _ auth.Secret) (authn.Result, auth.Labels, error) {
	b.started <- struct{}{}
	select {
	case <-b.release:
		return authn.Accepted, nil, nil
	case <-ctx.Done():
		return authn.WrongPassword, nil, ctx.Err()
	}
}

func (blocking) Name() string { return "blocking" }

func TestCacheWaiterHonoursItsContext(t *testing.T) {
	t.Parallel()
	b := blocking{started: make(chan struct{}, 2), release: make(chan struct{})}
	c := authn.NewCache(b, authn.CacheOptions{})
	first := make(chan error, 1)
	go func() {
		_, _, err := c.Authenticate(context.Background(), "alice", "pw")
		first <- err
	}()
	<-b.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Authenticate(ctx, "alice", "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("waiter error = %v", err)
	}
	close(b.release)
	if err := <-first; err != nil {
		t.Error(err)
	}
}

func TestCacheName(t *testing.T) {
	t.Parallel()
	if got := authn.NewCache(exactly{}, authn.CacheOptions{}).Name(); got != "exactly (cached)" {
		t.Errorf("Name = %q", got)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	c := authn.NewCache(staticUsers(b), authn.CacheOptions{})
	ctx := context.Background()
	if res, _, _ := c.Authenticate(ctx, "alice", "pw"); res != authn.Accepted {
		b.Fatal("setup")
	}
	b.ReportAllocs()
	for b.Loop() {
		if res, _, _ := c.Authenticate(ctx, "alice", "pw"); res != authn.Accepted {
			b.Fatal("miss")
		}
	}
}

func BenchmarkCacheMissBcrypt(b *testing.B) {
	backend := staticUsers(b)
	ctx := context.Background()
	for b.Loop() {
		backend.Authenticate(ctx, "alice", "pw")
	}
}
