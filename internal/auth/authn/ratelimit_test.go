package authn_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

type step struct {
	op      string // "fail", "ok", "cancel", "allow", "deny", "addrfail", "addrdeny", "wait"
	account string
	ip      string
	d       time.Duration // for "wait"; for "deny" and "addrdeny", the expected retryAfter
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	opts := authn.LimiterOptions{
		PerAccount: authn.Rate{Burst: 3, Every: time.Minute},
		PerAddress: authn.Rate{Burst: 5, Every: 10 * time.Second},
	}
	repeat := func(n int, op, account, ip string) []step {
		s := make([]step, n)
		for i := range s {
			s[i] = step{op: op, account: account, ip: ip}
		}
		return s
	}
	fails := func(n int, account, ip string) []step { return repeat(n, "fail", account, ip) }
	cat := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"fresh", []step{{op: "allow", account: "alice", ip: "192.0.2.1"}}},
		{"burst per account", cat(
			fails(2, "alice", "192.0.2.1"),
			[]step{{op: "allow", account: "alice", ip: "192.0.2.2"}},
			fails(1, "alice", "192.0.2.1"),
			[]step{{op: "deny", account: "alice", ip: "192.0.2.3", d: time.Minute}},
		)},
		{"other accounts unaffected", cat(
			fails(3, "alice", "192.0.2.1"),
			[]step{{op: "allow", account: "bob", ip: "192.0.2.2"}},
		)},
		{"account refills", cat(
			fails(3, "alice", "192.0.2.1"),
			[]step{
				{op: "wait", d: 40 * time.Second},
				{op: "deny", account: "alice", ip: "192.0.2.9", d: 20 * time.Second},
				{op: "wait", d: 20 * time.Second},
				{op: "allow", account: "alice", ip: "192.0.2.9"},
			},
			fails(1, "alice", "192.0.2.1"),
			[]step{{op: "deny", account: "alice", ip: "192.0.2.9", d: time.Minute}},
		)},
		{"burst per address, any account", cat(
			fails(1, "a", "192.0.2.1"), fails(1, "b", "192.0.2.1"), fails(1, "c", "192.0.2.1"),
			fails(1, "d", "192.0.2.1"), fails(1, "e", "192.0.2.1"),
			[]step{
				{op: "deny", account: "f", ip: "192.0.2.1", d: 10 * time.Second},
				{op: "allow", account: "f", ip: "192.0.2.2"},
			},
		)},
		{"v4-mapped is the same client", cat(
			fails(1, "a", "192.0.2.1"), fails(1, "b", "192.0.2.1"), fails(1, "c", "192.0.2.1"),
			fails(1, "d", "192.0.2.1"), fails(1, "e", "192.0.2.1"),
			[]step{{op: "deny", account: "x", ip: "::ffff:192.0.2.1", d: 10 * time.Second}},
		)},
		{"an IPv6 /64 is one client", cat(
			fails(1, "a", "2001:db8::1"), fails(1, "b", "2001:db8::2"), fails(1, "c", "2001:db8::3"),
			fails(1, "d", "2001:db8::4"), fails(1, "e", "2001:db8::5"),
			[]step{
				{op: "deny", account: "f", ip: "2001:db8::ffff", d: 10 * time.Second},
				{op: "allow", account: "f", ip: "2001:db8:0:1::1"},
			},
		)},
		{"success clears the account, not the address", cat(
			fails(2, "alice", "192.0.2.1"),
			[]step{{op: "ok", account: "alice", ip: "192.0.2.1"}},
			fails(2, "alice", "192.0.2.7"),
			[]step{{op: "allow", account: "alice", ip: "192.0.2.7"}},
			fails(2, "mallory", "192.0.2.1"),
			[]step{{op: "ok", account: "mallory", ip: "192.0.2.1"}},
			fails(1, "zed", "192.0.2.1"),
			[]step{{op: "deny", account: "mallory", ip: "192.0.2.1", d: 10 * time.Second}},
		)},
		{"no decision gives both tokens back", cat(
			fails(2, "alice", "192.0.2.1"),
			repeat(10, "cancel", "alice", "192.0.2.1"),
			fails(1, "alice", "192.0.2.1"),
			[]step{{op: "deny", account: "alice", ip: "192.0.2.1", d: time.Minute}},
		)},
		{"no address: account only", cat(
			fails(3, "alice", ""),
			[]step{{op: "deny", account: "alice", ip: "", d: time.Minute}, {op: "allow", account: "bob", ip: ""}},
		)},
		{"the longer wait wins", cat(
			fails(3, "alice", "192.0.2.1"),
			[]step{{op: "deny", account: "alice", ip: "192.0.2.1", d: time.Minute}},
		)},
		// Refresh tokens name no account: their failures are the address's
		// alone, and never lock out the account "" everyone else shares.
		{"address-only failures", cat(
			repeat(5, "addrfail", "", "192.0.2.1"),
			[]step{
				{op: "addrdeny", ip: "192.0.2.1", d: 10 * time.Second},
				{op: "deny", account: "alice", ip: "192.0.2.1", d: 10 * time.Second},
				{op: "allow", account: "", ip: "192.0.2.2"},
			},
		)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: time.Unix(1e9, 0)}
			o := opts
			o.Now = clk.Now
			l := authn.NewLimiter(o)
			for i, s := range tc.steps {
				var ip netip.Addr
				if s.ip != "" {
					ip = netip.MustParseAddr(s.ip)
				}
				if s.op == "wait" {
					clk.Add(s.d)
					continue
				}
				var r *authn.Reservation
				var err error
				if s.op == "addrfail" || s.op == "addrdeny" {
					r, err = l.ReserveAddress(t.Context(), ip)
				} else {
					r, err = l.Reserve(t.Context(), s.account, ip)
				}
				var le *authn.LimitedError
				if s.op == "deny" || s.op == "addrdeny" {
					if !errors.As(err, &le) || le.RetryAfter != s.d || !errors.Is(err, authn.ErrRateLimited) {
						t.Fatalf("step %d: %s(%q, %s) = %v; want refused for %s", i, s.op, s.account, s.ip, err, s.d)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: %s(%q, %s): %v", i, s.op, s.account, s.ip, err)
				}
				switch s.op {
				case "fail", "addrfail":
					r.Failed()
				case "ok":
					r.Succeeded()
				case "cancel", "allow":
					r.Cancel()
				}
			}
		})
	}
}

func TestLimiterDefaults(t *testing.T) {
	t.Parallel()
	l := authn.NewLimiter(authn.LimiterOptions{})
	ip := netip.MustParseAddr("192.0.2.1")
	for range 10 {
		r, err := l.Reserve(t.Context(), "alice", ip)
		if err != nil {
			t.Fatal("refused within the default burst:", err)
		}
		r.Failed()
	}
	var le *authn.LimitedError
	if _, err := l.Reserve(t.Context(), "alice", ip); !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetryAfter > 30*time.Second {
		t.Errorf("after 10 failures: %v", err)
	}
}

// Memory stays bounded however many accounts and addresses fail, and
// buckets that have refilled are dropped.
func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1e9, 0)}
	l := authn.NewLimiter(authn.LimiterOptions{MaxEntries: 100, Now: clk.Now})
	fail := func(account string, ip netip.Addr) {
		r, err := l.Reserve(t.Context(), account, ip)
		if err != nil {
			t.Fatal(err)
		}
		r.Failed()
	}
	for i := range 1000 {
		fail(fmt.Sprintf("user%d", i), netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if a, b := l.Len(); a != 100 || b != 100 {
		t.Errorf("Len = %d, %d; want 100, 100", a, b)
	}
	clk.Add(time.Hour)
	fail("last", netip.MustParseAddr("192.0.2.1"))
	if a, b := l.Len(); a != 1 || b != 1 {
		t.Errorf("after refill: Len = %d, %d; want 1, 1", a, b)
	}
}

// gatedBackend holds every call until n calls have arrived or the test
// lets them go, then answers res: it makes "all at once" deterministic.
type gatedBackend struct {
	res     authn.Result
	n       int64
	calls   atomic.Int64
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGatedBackend(res authn.Result, n int64) *gatedBackend {
	return &gatedBackend{res: res, n: n, arrived: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedBackend) Authenticate(ctx context.Context, _ string, _ auth.Secret) (authn.Result, auth.Labels, error) {
	if g.calls.Add(1) == g.n {
		close(g.arrived)
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return authn.WrongPassword, nil, ctx.Err()
	}
	return g.res, nil, nil
}

func (g *gatedBackend) Name() string { return "gated" }

func (g *gatedBackend) letGo() { g.once.Do(func() { close(g.release) }) }

// TestLoginReservesBeforeCheck: 25 wrong passwords for one account sent at
// once reach the backend at most burst times; with a check before and a
// record after, all 25 did.
func TestLoginReservesBeforeCheck(t *testing.T) {
	t.Parallel()
	l := authn.NewLimiter(authn.LimiterOptions{PendingWait: time.Minute})
	b := newGatedBackend(authn.WrongPassword, 25)
	var wg sync.WaitGroup
	var limited atomic.Int64
	for i := range 25 {
		wg.Go(func() {
			ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
			res, _, err := l.Login(t.Context(), b, "alice", auth.Secret(fmt.Sprint("guess", i)), ip)
			switch {
			case errors.Is(err, authn.ErrRateLimited):
				limited.Add(1)
			case err != nil || res == authn.Accepted:
				t.Errorf("guess %d: %v %v", i, res, err)
			}
		})
	}
	// Let the held calls go once every guess that can reach the backend
	// has: all 25 without reservations, 10 with them.
	select {
	case <-b.arrived:
	case <-time.After(time.Second):
	}
	b.letGo()
	wg.Wait()
	t.Logf("%d of 25 concurrent guesses reached the backend, %d were refused", b.calls.Load(), limited.Load())
	if c := b.calls.Load(); c > 10 {
		t.Errorf("%d concurrent guesses reached the backend; the burst is 10", c)
	}
	if b.calls.Load()+limited.Load() != 25 {
		t.Errorf("%d checked + %d refused != 25", b.calls.Load(), limited.Load())
	}
}

// TestLoginConcurrentSuccesses: reserving must not refuse correct logins
// that merely arrive together (25 CI jobs of one account): a login that
// finds the bucket held by logins in flight waits for them, and their
// successes give the tokens back.
func TestLoginConcurrentSuccesses(t *testing.T) {
	t.Parallel()
	l := authn.NewLimiter(authn.LimiterOptions{PendingWait: time.Minute})
	b := newGatedBackend(authn.Accepted, 10)
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for i := range 25 {
		wg.Go(func() {
			res, _, err := l.Login(t.Context(), b, "ci", "right", netip.MustParseAddr("192.0.2.1"))
			if err != nil || res != authn.Accepted {
				t.Errorf("login %d: %v %v", i, res, err)
				return
			}
			accepted.Add(1)
		})
	}
	<-b.arrived // the burst is in flight; the other 15 wait for it
	b.letGo()
	wg.Wait()
	if accepted.Load() != 25 {
		t.Errorf("%d of 25 correct logins accepted", accepted.Load())
	}
	if a, ad := l.Len(); a != 0 || ad != 0 {
		t.Errorf("successes left %d account and %d address buckets behind", a, ad)
	}
}

// TestLoginOutcomes: what each answer of the backend costs.
func TestLoginOutcomes(t *testing.T) {
	t.Parallel()
	ip := netip.MustParseAddr("192.0.2.1")
	down := errors.New("backend down")
	for _, tc := range []struct {
		name    string
		backend authn.Authenticator
		user    string
		wantRes authn.Result
		wantErr error
		charged bool // the account's bucket keeps a token
	}{
		{"accepted", fixed{res: authn.Accepted}, "alice", authn.Accepted, nil, false},
		{"wrong password", fixed{res: authn.WrongPassword}, "alice", authn.WrongPassword, nil, true},
		{"unknown user", fixed{res: authn.NoMatch}, "alice", authn.NoMatch, nil, true},
		{"no user name", fixed{res: authn.Accepted}, "", authn.WrongPassword, nil, true},
		{"backend down", fixed{err: down}, "alice", authn.WrongPassword, down, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := authn.NewLimiter(authn.LimiterOptions{PerAccount: authn.Rate{Burst: 1, Every: time.Hour}})
			res, _, err := l.Login(t.Context(), tc.backend, tc.user, "pw", ip)
			if res != tc.wantRes || !errors.Is(err, tc.wantErr) {
				t.Fatalf("Login = %v, %v; want %v, %v", res, err, tc.wantRes, tc.wantErr)
			}
			_, err = l.Reserve(t.Context(), tc.user, ip)
			if charged := errors.Is(err, authn.ErrRateLimited); charged != tc.charged {
				t.Errorf("charged = %v, want %v", charged, tc.charged)
			}
		})
	}
}

type fixed struct {
	res authn.Result
	err error
}

func (f fixed) Authenticate(context.Context, string, auth.Secret) (authn.Result, auth.Labels, error) {
	return f.res, nil, f.err
}
func (fixed) Name() string { return "fixed" }

// TestReservePendingWaitIsBounded: a login held up by one that never ends
// is refused after PendingWait, and one whose caller leaves gets ctx's
// error.
func TestReservePendingWaitIsBounded(t *testing.T) {
	t.Parallel()
	l := authn.NewLimiter(authn.LimiterOptions{PerAccount: authn.Rate{Burst: 1, Every: time.Hour}, PendingWait: 20 * time.Millisecond})
	ip := netip.MustParseAddr("192.0.2.1")
	r, err := l.Reserve(t.Context(), "alice", ip)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Failed()
	if _, err := l.Reserve(t.Context(), "alice", ip); !errors.Is(err, authn.ErrRateLimited) {
		t.Errorf("behind a reservation that never ends: %v; want rate limited", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Reserve(ctx, "alice", ip); !errors.Is(err, context.Canceled) {
		t.Errorf("caller gone: %v; want context.Canceled", err)
	}
}

func TestRequestLimiter(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1e9, 0)}
	l := authn.NewRequestLimiter(authn.RequestLimiterOptions{Rate: authn.Rate{Burst: 3, Every: time.Second}, What: "anonymous token requests", Now: clk.Now})
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if err := l.Take(a); err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
	}
	var le *authn.LimitedError
	if err := l.Take(a); !errors.As(err, &le) || le.RetryAfter != time.Second || le.RetryAfterSeconds() != 1 {
		t.Fatalf("beyond the burst: %v", err)
	}
	if err := l.Take(b); err != nil {
		t.Errorf("another address: %v", err)
	}
	if err := l.Take(netip.Addr{}); err != nil {
		t.Errorf("no address: %v", err)
	}
	clk.Add(time.Second)
	if err := l.Take(a); err != nil {
		t.Errorf("after a refill: %v", err)
	}
	if err := l.Take(a); err == nil {
		t.Error("two requests on one refilled token")
	}
	if d := authn.NewRequestLimiter(authn.RequestLimiterOptions{}); d == nil {
		t.Fatal("no default limiter")
	}
}

func BenchmarkLimiter(b *testing.B) {
	l := authn.NewLimiter(authn.LimiterOptions{})
	ip := netip.MustParseAddr("192.0.2.1")
	ctx := context.Background()
	for b.Loop() {
		r, err := l.Reserve(ctx, "alice", ip)
		if err != nil {
			b.Fatal(err)
		}
		r.Cancel()
	}
}
