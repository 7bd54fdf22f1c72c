package password

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
)

// ErrNotBcrypt means a stored password is not a bcrypt hash.
var ErrNotBcrypt = errors.New("password: not a bcrypt hash")

// HashHint tells an operator how to make a hash wharf accepts.
const HashHint = "hash it with `htpasswd -nB USER`"

// The bcrypt costs Wharf accepts. MaxCost is Apache htpasswd's own limit
// (htpasswd -C). Each step doubles the time of every login, and of the
// dummy comparison for unknown users; 17 already takes seconds.
const (
	MinCost = bcrypt.MinCost
	MaxCost = 17
	// FallbackCost is the cost of the dummy comparison while no stored
	// hash says otherwise: bcrypt's default.
	FallbackCost = bcrypt.DefaultCost
)

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

// Hash returns the bcrypt hash of pw at cost (MinCost..MaxCost), in the
// $2y$ form htpasswd -B writes, which docker_auth, distribution and Wharf
// all read. Whether pw is a good password is the caller's rule.
func Hash(pw auth.Secret, cost int) (string, error) {
	if cost < MinCost || cost > MaxCost {
		return "", fmt.Errorf("password: bcrypt cost %d is outside %d..%d", cost, MinCost, MaxCost)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw.Reveal()), cost)
	if err != nil {
		return "", fmt.Errorf("password: bcrypt: %w", err)
	}
	return "$2y$" + string(h[4:]), nil
}

// Cost returns the cost of a bcrypt hash, and false when it does not parse
// or is above MaxCost.
func Cost(hash []byte) (int, bool) {
	c, err := bcrypt.Cost(hash)
	if err != nil || c > MaxCost {
		return 0, false
	}
	return c, true
}

var dummies sync.Map // cost → []byte

// DummyHash returns a bcrypt hash of a random password at the given cost.
// A backend compares the password of an unknown user against it, so that
// the answer takes as long as for a known user with a wrong password and
// response times do not reveal which user names exist. It is computed once
// per cost and process.
func DummyHash(cost int) []byte {
	cost = max(MinCost, min(cost, MaxCost))
	if h, ok := dummies.Load(cost); ok {
		return h.([]byte)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		panic("password: bcrypt of a random password failed: " + err.Error()) // cannot happen: valid cost, short input
	}
	actual, _ := dummies.LoadOrStore(cost, h)
	return actual.([]byte)
}

// TypicalCost is the bcrypt cost most hashes use (the higher on a tie),
// or FallbackCost if there are none: the cost for DummyHash. Hashes that
// do not parse are skipped.
func TypicalCost(hashes [][]byte) int {
	count := map[int]int{}
	best, bestN := FallbackCost, 0
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
