package authn_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"wharf/internal/auth/authn"
)

type step struct {
	op      string // "fail", "ok" (a success), "allow", "deny", "wait"
	account string
	ip      string
	d       time.Duration // for "wait"; for "deny", the expected retryAfter
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	opts := authn.LimiterOptions{
		PerAccount: authn.Rate{Burst: 3, Every: time.Minute},
		PerAddress: authn.Rate{Burst: 5, Every: 10 * time.Second},
	}
	fails := func(n int, account, ip string) []step {
		s := make([]step, n)
		for i := range s {
			s[i] = step{op: "fail", account: account, ip: ip}
		}
		return s
	}
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
			fails(5, "", "192.0.2.1"),
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
			fails(3, "alice", "192.0.2.1"),
			[]step{{op: "ok", account: "alice", ip: "192.0.2.1"}, {op: "allow", account: "alice", ip: "192.0.2.7"}},
			fails(2, "mallory", "192.0.2.1"),
			[]step{{op: "ok", account: "mallory", ip: "192.0.2.1"}, {op: "deny", account: "mallory", ip: "192.0.2.1", d: 10 * time.Second}},
		)},
		{"no address: account only", cat(
			fails(3, "alice", ""),
			[]step{{op: "deny", account: "alice", ip: "", d: time.Minute}, {op: "allow", account: "bob", ip: ""}},
		)},
		{"the longer wait wins", cat(
			fails(3, "alice", "192.0.2.1"),
			[]step{{op: "deny", account: "alice", ip: "192.0.2.1", d: time.Minute}},
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
				switch s.op {
				case "fail":
					l.Failed(s.account, ip)
				case "ok":
					l.Succeeded(s.account, ip)
				case "wait":
					clk.Add(s.d)
				case "allow", "deny":
					ok, retry := l.Allow(s.account, ip)
					if want := s.op == "allow"; ok != want || (want && retry != 0) || (!want && retry != s.d) {
						t.Fatalf("step %d: Allow(%q, %s) = %v, %v; want %v, %v", i, s.account, s.ip, ok, retry, want, s.d)
					}
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
		if ok, _ := l.Allow("alice", ip); !ok {
			t.Fatal("denied within the default burst")
		}
		l.Failed("alice", ip)
	}
	if ok, retry := l.Allow("alice", ip); ok || retry <= 0 || retry > 30*time.Second {
		t.Errorf("after 10 failures: %v, %v", ok, retry)
	}
}

// Memory stays bounded however many accounts and addresses fail, and
// buckets that have refilled are dropped.
func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1e9, 0)}
	l := authn.NewLimiter(authn.LimiterOptions{MaxEntries: 100, Now: clk.Now})
	for i := range 1000 {
		l.Failed(fmt.Sprintf("user%d", i), netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if a, b := l.Len(); a != 100 || b != 100 {
		t.Errorf("Len = %d, %d; want 100, 100", a, b)
	}
	clk.Add(time.Hour)
	l.Failed("last", netip.MustParseAddr("192.0.2.1"))
	if a, b := l.Len(); a != 1 || b != 1 {
		t.Errorf("after refill: Len = %d, %d; want 1, 1", a, b)
	}
}

func BenchmarkLimiter(b *testing.B) {
	l := authn.NewLimiter(authn.LimiterOptions{})
	ip := netip.MustParseAddr("192.0.2.1")
	for b.Loop() {
		l.Allow("alice", ip)
		l.Failed("alice", ip)
	}
}
