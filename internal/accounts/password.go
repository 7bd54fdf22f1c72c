package accounts

import (
	"fmt"

	"wharf/internal/auth"
	"wharf/internal/auth/password"
)

// Password rules: password.Problem's, which WHARF_ADMIN_PASSWORD follows
// too.
const (
	MinPasswordLen = password.MinLen
	MaxPasswordLen = password.MaxLen
	// DefaultCost is the bcrypt cost of the hashes Wharf makes: about a
	// quarter of a second per login on a current CPU, which the login
	// cache pays once per client and five minutes.
	DefaultCost = 12
)

// CheckPassword validates a new password. The error never contains it.
func CheckPassword(pw auth.Secret) error {
	if p := password.Problem(pw); p != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, p)
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
