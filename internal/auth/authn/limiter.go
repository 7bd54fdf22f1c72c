package authn

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"wharf/internal/auth"
)

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
	// PendingWait is how long a login refused only because of logins
	// still being checked waits for their outcome (default 5s).
	PendingWait time.Duration
	// Now is the clock (default time.Now), for tests.
	Now func() time.Time
}

// Limiter slows down password guessing. A login reserves a token in its
// account's bucket and in its address's before the password is checked
// (Reserve), and reports the outcome on the Reservation: a failure keeps
// both tokens, a success gives the address's back and forgets the
// account's failures, and no decision (the backend is down or busy) gives
// both back. Login does all of that around an Authenticator.
//
// Reserving first is what makes the limit hold under concurrency: with a
// check before and a record after, 25 guesses sent at once all passed the
// check before the first failure was recorded. Now at most the burst is
// checked; the others are refused, or wait (PendingWait) when only logins
// still in flight hold the tokens, since a success among them gives its
// token back: 25 concurrent correct logins of one CI account all pass.
//
// A success clears the account's failures but not the address's, so an
// attacker cannot reset its own address by logging in to an account it
// owns. The per-account limit also lets anyone slow down a real user by
// failing logins in their name; it recovers at the refill rate, and is the
// price of stopping a guesser that spreads over many addresses.
type Limiter struct {
	v6Bits      int
	pendingWait time.Duration
	now         func() time.Time

	mu        sync.Mutex
	accounts  buckets[string]
	addresses buckets[netip.Prefix]
	// settled is closed (and cleared) whenever a reservation ends, to wake
	// the logins waiting for one; nil while nobody waits.
	settled chan struct{}
}

// NewLimiter returns a Limiter.
func NewLimiter(opts LimiterOptions) *Limiter {
	l := &Limiter{v6Bits: v6Bits(opts.IPv6Prefix), pendingWait: opts.PendingWait, now: opts.Now}
	if l.pendingWait <= 0 {
		l.pendingWait = 5 * time.Second
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.accounts = newBuckets[string](opts.PerAccount.withDefault(Rate{Burst: 10, Every: 30 * time.Second}), opts.MaxEntries)
	l.addresses = newBuckets[netip.Prefix](opts.PerAddress.withDefault(Rate{Burst: 30, Every: 10 * time.Second}), opts.MaxEntries)
	return l
}

// Login checks user's password with a, under the limiter. It returns
// Accepted with the user's labels; WrongPassword or NoMatch (both refuse;
// the empty user name always fails); or an error that is no answer about
// the password: a *LimitedError when the limiter refused (nothing was
// checked), ctx's error, or a's (a backend down, or a full password gate:
// gate.ErrBusy), which does not count as a failure.
//
// It is the one login procedure of every endpoint that takes a password
// (the token server's GET and password grant, the admin API's and the
// registry's Basic auth), so they all limit alike.
func (l *Limiter) Login(ctx context.Context, a Authenticator, user string, password auth.Secret, ip netip.Addr) (Result, auth.Labels, error) {
	r, err := l.Reserve(ctx, user, ip)
	if err != nil {
		return WrongPassword, nil, err
	}
	if user == "" {
		r.Failed()
		return WrongPassword, nil, nil
	}
	res, labels, err := a.Authenticate(ctx, user, password)
	switch {
	case err != nil:
		r.Cancel()
		return WrongPassword, nil, err
	case res == Accepted:
		r.Succeeded()
		return Accepted, labels, nil
	}
	r.Failed()
	return res, nil, nil
}

// Reserve takes a token from account's bucket and from ip's before a login
// is checked. The error is a *LimitedError when a bucket is empty (the
// login must not be checked), or ctx's error. The caller must end the
// Reservation with exactly one of Failed, Succeeded or Cancel.
func (l *Limiter) Reserve(ctx context.Context, account string, ip netip.Addr) (*Reservation, error) {
	return l.reserve(ctx, &Reservation{l: l, account: account, byAccount: true}, ip)
}

// ReserveAddress is Reserve for credentials that name no account, such as
// a refresh token: only ip's bucket is charged. Charging an account ("",
// as refresh failures once were) would let one client lock every holder of
// a refresh token out.
func (l *Limiter) ReserveAddress(ctx context.Context, ip netip.Addr) (*Reservation, error) {
	return l.reserve(ctx, &Reservation{l: l}, ip)
}

func (l *Limiter) reserve(ctx context.Context, r *Reservation, ip netip.Addr) (*Reservation, error) {
	r.addr, r.byAddress = addressKey(ip, l.v6Bits)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		l.mu.Lock()
		now := l.now()
		wait, inFlight := r.wait(now)
		if wait <= 0 {
			r.take(now)
			l.mu.Unlock()
			return r, nil
		}
		if !inFlight {
			l.mu.Unlock()
			return nil, &LimitedError{What: "failed logins", RetryAfter: wait}
		}
		if l.settled == nil {
			l.settled = make(chan struct{})
		}
		settled := l.settled
		l.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(l.pendingWait)
		}
		select {
		case <-settled:
		case <-timer.C:
			return nil, &LimitedError{What: "failed logins", RetryAfter: wait}
		case <-ctx.Done():
			return nil, fmt.Errorf("authn: %w", ctx.Err())
		}
	}
}

// Len is the number of accounts and addresses with recent failures.
func (l *Limiter) Len() (accounts, addresses int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accounts.t.lru.Len(), l.addresses.t.lru.Len()
}

// Reservation is a login's token in its account's and address's buckets,
// taken before its password is checked.
type Reservation struct {
	l         *Limiter
	account   string
	byAccount bool
	addr      netip.Prefix
	byAddress bool
	ended     bool
}

// wait is how long until both buckets hold a token, and whether every
// bucket that is empty has reservations in flight (whose outcome may give a
// token back). Called with l.mu held.
func (r *Reservation) wait(now time.Time) (time.Duration, bool) {
	l := r.l
	var wait time.Duration
	inFlight := true
	if r.byAccount {
		if w := l.accounts.wait(r.account, now); w > 0 {
			wait, inFlight = w, l.accounts.pending[r.account] > 0
		}
	}
	if r.byAddress {
		if w := l.addresses.wait(r.addr, now); w > 0 {
			wait, inFlight = max(wait, w), inFlight && l.addresses.pending[r.addr] > 0
		}
	}
	return wait, inFlight
}

// take spends the tokens. Called with l.mu held.
func (r *Reservation) take(now time.Time) {
	l := r.l
	if r.byAccount {
		l.accounts.take(r.account, now)
		l.accounts.hold(r.account)
	}
	if r.byAddress {
		l.addresses.take(r.addr, now)
		l.addresses.hold(r.addr)
	}
}

// Failed ends the reservation of a failed login: the tokens stay spent.
func (r *Reservation) Failed() { r.end(false, false, false) }

// Succeeded ends the reservation of a successful login: the account's
// failures are forgotten and the address's token is given back (its other
// failures stay).
func (r *Reservation) Succeeded() { r.end(true, false, true) }

// Cancel ends a reservation without a decision (the backend could not
// answer): both tokens are given back.
func (r *Reservation) Cancel() { r.end(false, true, true) }

func (r *Reservation) end(forgetAccount, refundAccount, refundAddress bool) {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.ended {
		return
	}
	r.ended = true
	now := l.now()
	if r.byAccount {
		l.accounts.unhold(r.account)
		switch {
		case forgetAccount:
			l.accounts.t.delete(r.account)
		case refundAccount:
			l.accounts.giveBack(r.account, now)
		}
	}
	if r.byAddress {
		l.addresses.unhold(r.addr)
		if refundAddress {
			l.addresses.giveBack(r.addr, now)
		}
	}
	if l.settled != nil {
		close(l.settled)
		l.settled = nil
	}
}
