package accounts

import (
	"fmt"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/password"
)

// Password rules. bcrypt reads at most 72 bytes; a longer password would
// be silently cut, so it is refused instead.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 72
	// DefaultCost is the bcrypt cost of the hashes Wharf makes: about a
	// quarter of a second per login on a current CPU, which the login
	// cache pays once per client and five minutes.
	DefaultCost = 12
)

// CheckPassword validates a new password. The error never contains it.
func CheckPassword(pw auth.Secret) error {
	v := pw.Reveal()
	switch {
	case len(v) < MinPasswordLen:
		return fmt.Errorf("%w: the password is %d characters long; use at least %d (a passphrase of a few words is easiest)", ErrInvalid, len(v), MinPasswordLen)
	case len(v) > MaxPasswordLen:
		return fmt.Errorf("%w: the password is longer than %d bytes, which bcrypt would silently cut; use a shorter one", ErrInvalid, MaxPasswordLen)
	case strings.HasPrefix(v, tokenPrefix):
		return fmt.Errorf("%w: passwords must not start with %q, which marks access tokens", ErrInvalid, tokenPrefix)
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("%w: the password starts or ends with white space (a stray newline?); remove it", ErrInvalid)
	}
	return nil
}

// HashPassword checks pw and returns its bcrypt hash at cost (0 means
// DefaultCost), in the $2y$ form htpasswd -B writes, which docker_auth,
// distribution and Wharf all read.
func HashPassword(pw auth.Secret, cost int) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	if cost == 0 {
		cost = DefaultCost
	}
	if cost < password.MinCost || cost > password.MaxCost {
		return "", fmt.Errorf("%w: bcrypt cost %d is outside %d..%d", ErrInvalid, cost, password.MinCost, password.MaxCost)
	}
	h, err := password.Hash(pw, cost)
	if err != nil {
		return "", fmt.Errorf("accounts: %w", err)
	}
	return h, nil
}
