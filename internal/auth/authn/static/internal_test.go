package static

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
)

// An unknown user is compared against a dummy hash of the cost most users
// have, so that it costs as much time as a wrong password.
func TestDummyHashCost(t *testing.T) {
	t.Parallel()
	hash := func(cost int) auth.Secret {
		h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
		if err != nil {
			t.Fatal(err)
		}
		return auth.Secret(h)
	}
	a, err := New(map[string]User{"a": {Password: hash(5)}, "b": {Password: hash(5)}, "c": {Password: hash(4)}, "": {}})
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost(a.dummy); err != nil || cost != 5 {
		t.Errorf("dummy cost = %d, %v; want 5", cost, err)
	}
}
