package authn

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Rate is a token bucket of failed logins: Burst failures are allowed at
// once, and one more every Every after that.
type Rate struct {
	Burst int
	Every time.Duration
}

// LimiterOptions configure a Limiter; zero values take the defaults.
type LimiterOptions struct {
	// PerAccount limits failures for one user name, from anywhere
	// (default 10 at once, then one every 30s: 120 guesses an hour).
	PerAccount Rate
	// PerAddress limits failures from one client address, for any user
	// (default 30 at once, then one every 10s). IPv6 clients are grouped
	// by IPv6Prefix, since one host usually holds a whole /64.
	PerAddress Rate
	// IPv6Prefix is the prefix length IPv6 addresses are grouped by
	// (default 64).
	IPv6Prefix int
	// MaxEntries bounds the memory of each of the two tables (default
	// 100000); the entry touched longest ago is forgotten first.
	MaxEntries int
	// Now is the clock (default time.Now), for tests.
	Now func() time.Time
}

// Limiter slows down password guessing. The token server asks Allow before
// checking credentials and answers 429 with Retry-After when it says no;
// it reports the outcome with Failed or Succeeded. A success clears the
// account's failures but not the address's, so an attacker cannot reset
// its own address by logging in to an account it owns.
//
// The per-account limit also lets anyone slow down a real user by failing
// logins in their name; it recovers at the refill rate, and is the price of
// stopping a guesser that spreads over many addresses.
type Limiter struct {
	account   Rate
	address   Rate
	v6Bits    int
	now       func() time.Time
	mu        sync.Mutex
	accounts  *table[string]
	addresses *table[netip.Prefix]
}

// NewLimiter returns a Limiter.
func NewLimiter(opts LimiterOptions) *Limiter {
	def := func(r, d Rate) Rate {
		if r.Burst <= 0 {
			r.Burst = d.Burst
		}
		if r.Every <= 0 {
			r.Every = d.Every
		}
		return r
	}
	l := &Limiter{
		account: def(opts.PerAccount, Rate{Burst: 10, Every: 30 * time.Second}),
		address: def(opts.PerAddress, Rate{Burst: 30, Every: 10 * time.Second}),
		v6Bits:  opts.IPv6Prefix,
		now:     opts.Now,
	}
	if l.v6Bits <= 0 || l.v6Bits > 128 {
		l.v6Bits = 64
	}
	if l.now == nil {
		l.now = time.Now
	}
	limit := opts.MaxEntries
	if limit <= 0 {
		limit = 100000
	}
	l.accounts = newTable[string](limit)
	l.addresses = newTable[netip.Prefix](limit)
	return l
}

// addressKey groups an address with its neighbours; ok is false for the
// zero Addr (no address known), which is then not limited by address.
func (l *Limiter) addressKey(ip netip.Addr) (netip.Prefix, bool) {
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = l.v6Bits
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// Allow reports whether a login for account from ip may be attempted now,
// and if not, how long until it may.
func (l *Limiter) Allow(account string, ip netip.Addr) (ok bool, retryAfter time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := l.account.wait(l.accounts.get(account), now)
	if k, ok := l.addressKey(ip); ok {
		wait = max(wait, l.address.wait(l.addresses.get(k), now))
	}
	return wait <= 0, max(wait, 0)
}

// Failed records a failed login.
func (l *Limiter) Failed(account string, ip netip.Addr) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accounts.prune(now)
	l.addresses.prune(now)
	l.accounts.put(account, l.account.spend(l.accounts.get(account), now))
	if k, ok := l.addressKey(ip); ok {
		l.addresses.put(k, l.address.spend(l.addresses.get(k), now))
	}
}

// Succeeded records a successful login: the account's failures are
// forgotten.
func (l *Limiter) Succeeded(account string, _ netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accounts.delete(account)
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

// Len is the number of accounts and addresses with recent failures.
func (l *Limiter) Len() (accounts, addresses int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accounts.lru.Len(), l.addresses.lru.Len()
}
