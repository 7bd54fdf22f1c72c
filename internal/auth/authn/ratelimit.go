package authn

import (
	"container/list"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"wharf/internal/gate"
)

// Rate is a token bucket: Burst at once, and one more every Every after
// that.
type Rate struct {
	Burst int
	Every time.Duration
}

// ErrRateLimited means a client was refused by a rate limit: a Limiter
// (too many failed logins) or a RequestLimiter.
var ErrRateLimited = errors.New("authn: rate limited")

// LimitedError is a refusal by a rate limit; errors.Is(err,
// ErrRateLimited) holds. Nothing was checked: the answer is 429 with
// Retry-After.
type LimitedError struct {
	// What was limited, for messages: "failed logins".
	What       string
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("authn: too many %s; retry in %s", e.What, e.RetryAfter)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *LimitedError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfterSeconds is RetryAfter in whole seconds (rounded up, at least 1),
// for a Retry-After header.
func (e *LimitedError) RetryAfterSeconds() int { return gate.Seconds(e.RetryAfter) }

// RequestLimiterOptions configure a RequestLimiter; zero values take the
// defaults.
type RequestLimiterOptions struct {
	// Rate is the bucket of one client address (default 100 at once, then
	// 20 a second).
	Rate Rate
	// IPv6Prefix and MaxEntries are as in LimiterOptions.
	IPv6Prefix int
	MaxEntries int
	// What is limited, for messages (default "requests").
	What string
	// Now is the clock (default time.Now), for tests.
	Now func() time.Time
}

// RequestLimiter is a token bucket per client address, for requests that
// carry no credentials to charge but cost the server work: anonymous token
// requests, each of which asks the authorizers (perhaps external programs)
// about every scope. Every request takes a token, whatever its outcome.
type RequestLimiter struct {
	what   string
	v6Bits int
	now    func() time.Time
	mu     sync.Mutex
	b      buckets[netip.Prefix]
}

// NewRequestLimiter returns a RequestLimiter.
func NewRequestLimiter(opts RequestLimiterOptions) *RequestLimiter {
	l := &RequestLimiter{what: opts.What, v6Bits: v6Bits(opts.IPv6Prefix), now: opts.Now}
	if l.what == "" {
		l.what = "requests"
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.b = newBuckets[netip.Prefix](opts.Rate.withDefault(Rate{Burst: 100, Every: 50 * time.Millisecond}), opts.MaxEntries)
	return l
}

// Take takes a token from ip's bucket: nil, or a *LimitedError when the
// bucket is empty. A request with no known address is not limited.
func (l *RequestLimiter) Take(ip netip.Addr) error {
	k, ok := addressKey(ip, l.v6Bits)
	if !ok {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.b.wait(k, now); wait > 0 {
		return &LimitedError{What: l.what, RetryAfter: wait}
	}
	l.b.take(k, now)
	return nil
}

// Len is the number of addresses whose bucket is not full.
func (l *RequestLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.t.lru.Len()
}

func (r Rate) withDefault(d Rate) Rate {
	if r.Burst <= 0 {
		r.Burst = d.Burst
	}
	if r.Every <= 0 {
		r.Every = d.Every
	}
	return r
}

// v6Bits is the prefix length IPv6 clients are grouped by (default 64:
// one host usually holds a whole /64).
func v6Bits(bits int) int {
	if bits <= 0 || bits > 128 {
		return 64
	}
	return bits
}

// addressKey groups an address with its neighbours; ok is false for the
// zero Addr (no address known), which is then not limited by address.
func addressKey(ip netip.Addr, v6Bits int) (netip.Prefix, bool) {
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = v6Bits
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// A bucket is kept as the time it will be full again (the "theoretical
// arrival time" of GCRA): one timestamp instead of a count and a time, and
// an entry in the past is the same as no entry.

// wait is how long until the bucket holds a token again.
func (r Rate) wait(full, now time.Time) time.Duration {
	if full.IsZero() {
		return 0
	}
	return full.Sub(now) - time.Duration(r.Burst-1)*r.Every
}

// spend takes a token.
func (r Rate) spend(full, now time.Time) time.Time {
	if full.Before(now) {
		full = now
	}
	return full.Add(r.Every)
}

// buckets are the token buckets of one kind of key, with the number of
// reservations (Limiter) not yet ended per key.
type buckets[K comparable] struct {
	rate    Rate
	t       *table[K]
	pending map[K]int
}

func newBuckets[K comparable](r Rate, maxEntries int) buckets[K] {
	if maxEntries <= 0 {
		maxEntries = 100000
	}
	return buckets[K]{rate: r, t: newTable[K](maxEntries), pending: map[K]int{}}
}

func (b *buckets[K]) wait(k K, now time.Time) time.Duration {
	return max(b.rate.wait(b.t.get(k), now), 0)
}

func (b *buckets[K]) take(k K, now time.Time) {
	b.t.prune(now)
	b.t.put(k, b.rate.spend(b.t.get(k), now))
}

// giveBack returns a token taken earlier; a bucket that is full again is
// forgotten.
func (b *buckets[K]) giveBack(k K, now time.Time) {
	full := b.t.get(k)
	if full.IsZero() {
		return // forgotten meanwhile: full already
	}
	if full = full.Add(-b.rate.Every); full.After(now) {
		b.t.put(k, full)
	} else {
		b.t.delete(k)
	}
}

func (b *buckets[K]) hold(k K) { b.pending[k]++ }

func (b *buckets[K]) unhold(k K) {
	if b.pending[k]--; b.pending[k] <= 0 {
		delete(b.pending, k)
	}
}

// table is a bounded map from key to bucket, least recently touched
// evicted first.
type table[K comparable] struct {
	max int
	m   map[K]*list.Element
	lru list.List
}

type tableEntry[K comparable] struct {
	key  K
	full time.Time
}

func newTable[K comparable](max int) *table[K] {
	return &table[K]{max: max, m: map[K]*list.Element{}}
}

func (t *table[K]) get(k K) time.Time {
	if el, ok := t.m[k]; ok {
		return el.Value.(*tableEntry[K]).full
	}
	return time.Time{}
}

func (t *table[K]) put(k K, full time.Time) {
	if el, ok := t.m[k]; ok {
		el.Value.(*tableEntry[K]).full = full
		t.lru.MoveToFront(el)
		return
	}
	for t.lru.Len() >= t.max {
		t.delete(t.lru.Back().Value.(*tableEntry[K]).key)
	}
	t.m[k] = t.lru.PushFront(&tableEntry[K]{key: k, full: full})
}

// prune forgets the least recently touched buckets that are full again:
// they say nothing an absent entry does not.
func (t *table[K]) prune(now time.Time) {
	for el := t.lru.Back(); el != nil; el = t.lru.Back() {
		e := el.Value.(*tableEntry[K])
		if e.full.After(now) {
			return
		}
		t.delete(e.key)
	}
}

func (t *table[K]) delete(k K) {
	if el, ok := t.m[k]; ok {
		delete(t.m, k)
		t.lru.Remove(el)
	}
}
