package authn

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/gate"
)

// ErrNotBcrypt means a stored password is not a bcrypt hash.
var ErrNotBcrypt = errors.New("authn: not a bcrypt hash")

// HashHint tells an operator how to make a hash wharf accepts.
const HashHint = "hash it with `htpasswd -nB USER`"

// MaxCost is the highest bcrypt cost accepted, Apache htpasswd's own limit
// (htpasswd -C). Each step doubles the time of every login, and of the
// dummy comparison for unknown users; 17 already takes seconds.
const MaxCost = 17

// CheckHash verifies that hash is a well-formed bcrypt hash in one of the
// variants htpasswd and docker_auth use ($2a$, $2b$, $2y$; they differ only
// in the bugs of old C implementations, not in Go's). The error names the
// scheme it recognised but never includes the value, which may be a
// plain-text password.
func CheckHash(hash string) error {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return fmt.Errorf("%w: malformed bcrypt hash (%v); %s", ErrNotBcrypt, err, HashHint)
		}
		if cost > MaxCost {
			return fmt.Errorf("%w: bcrypt cost %d is above %d (each login would take minutes or more); %s", ErrNotBcrypt, cost, MaxCost, HashHint)
		}
		return nil
	case hash == "":
		return fmt.Errorf("%w: the password is empty; %s", ErrNotBcrypt, HashHint)
	}
	return fmt.Errorf("%w: %s is not supported, only bcrypt ($2a$, $2b$, $2y$); %s", ErrNotBcrypt, scheme(hash), HashHint)
}

// scheme names a password format from its prefix, for error messages.
func scheme(hash string) string {
	for _, s := range []struct{ prefix, name string }{
		{"$apr1$", "an Apache MD5 ($apr1$) hash"},
		{"{SHA}", "a SHA-1 ({SHA}) hash"},
		{"$1$", "an MD5-crypt ($1$) hash"},
		{"$5$", "a SHA-256-crypt ($5$) hash"},
		{"$6$", "a SHA-512-crypt ($6$) hash"},
		{"$2", "an unknown bcrypt variant"},
		{"$argon2", "an Argon2 hash"},
	} {
		if strings.HasPrefix(hash, s.prefix) {
			return s.name
		}
	}
	if len(hash) == 13 && !strings.ContainsAny(hash, "$:{") {
		return "a DES-crypt hash or a plain-text password"
	}
	return "a plain-text password"
}

// DefaultPasswordCheckWait is how long a login waits for a free password
// check slot before it is refused.
const DefaultPasswordCheckWait = time.Second

// passwordChecks bounds the bcrypt comparisons running at once in the
// process. It is one gate per process, not per backend, because what it
// protects is the process's CPU: every comparison of every backend (static
// users, htpasswd, database users, mongo_auth and xorm_auth through
// Lookup), whichever endpoint asked (token server, admin API, the
// registry's Basic auth), goes through VerifyPassword and so through it.
// Logins answered by the Cache never get here and take no slot.
var passwordChecks atomic.Pointer[gate.Gate]

// defaultPasswordChecks is the gate until LimitPasswordChecks is called:
// one comparison per CPU Go may use, as bcrypt keeps one busy.
var defaultPasswordChecks = sync.OnceValue(func() *gate.Gate {
	return NewPasswordGate(runtime.GOMAXPROCS(0), DefaultPasswordCheckWait, nil)
})

// NewPasswordGate returns a gate for LimitPasswordChecks: slots comparisons
// at once, a login waits at most wait for one (then 503, Retry-After 1s),
// refusals are logged to log once a minute.
func NewPasswordGate(slots int, wait time.Duration, log *slog.Logger) *gate.Gate {
	return gate.New(gate.Options{What: "password checks", Key: "limits.password_checks", Slots: slots, Wait: wait, Log: log})
}

// LimitPasswordChecks makes g the process's bound on bcrypt comparisons,
// and returns the one it replaces (nil: the default). The composition root
// calls it at start-up with the configured limits; until then (and in
// tests) it is NewPasswordGate(GOMAXPROCS, 1s), which nil restores.
// Comparisons running under the old gate finish there.
func LimitPasswordChecks(g *gate.Gate) (previous *gate.Gate) { return passwordChecks.Swap(g) }

// PasswordChecks is the process's bound on bcrypt comparisons.
func PasswordChecks() *gate.Gate {
	if g := passwordChecks.Load(); g != nil {
		return g
	}
	return defaultPasswordChecks()
}

// compareHash is bcrypt's comparison; tests count the calls.
var compareHash = bcrypt.CompareHashAndPassword

// VerifyPassword compares password with a bcrypt hash in constant time:
// Accepted or WrongPassword, or an error if the hash is malformed. It holds
// a slot of PasswordChecks while it compares; when none frees in time the
// error is a *gate.BusyError (errors.Is gate.ErrBusy), which callers pass
// on: it is no answer about the password. The comparisons with dummy
// hashes that hide unknown users take a slot too and must pass that error
// on as well, or a full gate would tell unknown users apart.
func VerifyPassword(ctx context.Context, hash []byte, password auth.Secret) (Result, error) {
	release, err := PasswordChecks().Enter(ctx)
	if err != nil {
		return WrongPassword, fmt.Errorf("authn: %w", err)
	}
	defer release()
	err = compareHash(hash, []byte(password.Reveal()))
	switch {
	case err == nil:
		return Accepted, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return WrongPassword, nil
	}
	return WrongPassword, fmt.Errorf("authn: stored hash: %w", err)
}

var dummies sync.Map // cost → []byte

// DummyHash returns a bcrypt hash of a random password at the given cost.
// A backend compares the password of an unknown user against it, so that
// the answer takes as long as for a known user with a wrong password and
// response times do not reveal which user names exist. It is computed once
// per cost and process.
func DummyHash(cost int) []byte {
	cost = max(bcrypt.MinCost, min(cost, MaxCost))
	if h, ok := dummies.Load(cost); ok {
		return h.([]byte)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		panic("authn: bcrypt of a random password failed: " + err.Error()) // cannot happen: valid cost, short input
	}
	actual, _ := dummies.LoadOrStore(cost, h)
	return actual.([]byte)
}

// TypicalCost is the bcrypt cost most hashes use (the higher on a tie),
// or bcrypt.DefaultCost if there are none: the cost for DummyHash. Hashes
// that do not parse are skipped.
func TypicalCost(hashes [][]byte) int {
	count := map[int]int{}
	best, bestN := bcrypt.DefaultCost, 0
	for _, h := range hashes {
		c, err := bcrypt.Cost(h)
		if err != nil {
			continue
		}
		count[c]++
		if n := count[c]; n > bestN || n == bestN && c > best {
			best, bestN = c, n
		}
	}
	return best
}
