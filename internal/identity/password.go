package identity

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
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
func CheckPassword(password auth.Secret) error {
	pw := password.Reveal()
	switch {
	case len(pw) < MinPasswordLen:
		return fmt.Errorf("%w: the password is %d characters long; use at least %d (a passphrase of a few words is easiest)", ErrInvalid, len(pw), MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Errorf("%w: the password is longer than %d bytes, which bcrypt would silently cut; use a shorter one", ErrInvalid, MaxPasswordLen)
	case strings.HasPrefix(pw, tokenPrefix):
		return fmt.Errorf("%w: passwords must not start with %q, which marks access tokens", ErrInvalid, tokenPrefix)
	case strings.TrimSpace(pw) != pw:
		return fmt.Errorf("%w: the password starts or ends with white space (a stray newline?); remove it", ErrInvalid)
	}
	return nil
}

// HashPassword checks password and returns its bcrypt hash at cost (0 means
// DefaultCost), in the $2y$ form htpasswd -B writes, which docker_auth,
// distribution and Wharf all read.
func HashPassword(password auth.Secret, cost int) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	if cost == 0 {
		cost = DefaultCost
	}
	if cost < bcrypt.MinCost || cost > authn.MaxCost {
		return "", fmt.Errorf("%w: bcrypt cost %d is outside %d..%d", ErrInvalid, cost, bcrypt.MinCost, authn.MaxCost)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password.Reveal()), cost)
	if err != nil {
		return "", fmt.Errorf("identity: bcrypt: %w", err)
	}
	return "$2y$" + string(h[4:]), nil
}
