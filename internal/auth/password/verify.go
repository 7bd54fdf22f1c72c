package password

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/gate"
)

// DefaultCheckWait is how long a login waits for a free password check
// slot before it is refused.
const DefaultCheckWait = time.Second

// checks bounds the bcrypt comparisons running at once in the process. It
// is one gate per process, not per backend, because what it protects is
// the process's CPU: every comparison of every backend (static users,
// htpasswd, database users, mongo_auth and xorm_auth through authn.Lookup),
// whichever endpoint asked (token server, admin API, the registry's Basic
// auth), goes through Verify and so through it. Logins answered by the
// login cache never get here and take no slot.
var checks atomic.Pointer[gate.Gate]

// defaultChecks is the gate until LimitChecks is called: one comparison
// per CPU Go may use, as bcrypt keeps one busy.
var defaultChecks = sync.OnceValue(func() *gate.Gate {
	return NewGate(runtime.GOMAXPROCS(0), DefaultCheckWait, nil)
})

// NewGate returns a gate for LimitChecks: slots comparisons at once, a
// login waits at most wait for one (then 503, Retry-After 1s), refusals
// are logged to log once a minute.
func NewGate(slots int, wait time.Duration, log *slog.Logger) *gate.Gate {
	return gate.New(gate.Options{What: "password checks", Key: "limits.password_checks", Slots: slots, Wait: wait, Log: log})
}

// LimitChecks makes g the process's bound on bcrypt comparisons, and
// returns the one it replaces (nil: the default). The composition root
// calls it at start-up with the configured limits; until then (and in
// tests) it is NewGate(GOMAXPROCS, 1s), which nil restores. Comparisons
// running under the old gate finish there.
func LimitChecks(g *gate.Gate) (previous *gate.Gate) { return checks.Swap(g) }

// Checks is the process's bound on bcrypt comparisons.
func Checks() *gate.Gate {
	if g := checks.Load(); g != nil {
		return g
	}
	return defaultChecks()
}

// compareHash is bcrypt's comparison; tests count the calls.
var compareHash = bcrypt.CompareHashAndPassword

// Verify compares pw with a bcrypt hash in constant time: true when it
// matches, false when not, or an error if the hash is malformed. It holds
// a slot of Checks while it compares; when none frees in time the error is
// a *gate.BusyError (errors.Is gate.ErrBusy), which callers pass on: it is
// no answer about the password. The comparisons with dummy hashes that
// hide unknown users take a slot too and must pass that error on as well,
// or a full gate would tell unknown users apart.
func Verify(ctx context.Context, hash []byte, pw auth.Secret) (bool, error) {
	release, err := Checks().Enter(ctx)
	if err != nil {
		return false, fmt.Errorf("password: %w", err)
	}
	defer release()
	err = compareHash(hash, []byte(pw.Reveal()))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("password: stored hash: %w", err)
}
