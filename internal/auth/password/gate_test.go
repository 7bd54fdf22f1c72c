package password

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
)

// TestVerifyBounded counts the bcrypt comparisons running at once (in the
// comparison itself, around the real bcrypt) while many logins verify
// passwords together: never more than the gate's size. It is not
// parallel: it replaces the process's gate and the comparison.
func TestVerifyBounded(t *testing.T) {
	var running, peak, calls atomic.Int64
	real := compareHash
	compareHash = func(hash, pw []byte) error {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		return real(hash, pw)
	}
	t.Cleanup(func() { compareHash = real })
	const slots = 3
	prev := LimitChecks(NewGate(slots, time.Minute, nil))
	t.Cleanup(func() { LimitChecks(prev) })

	hash, err := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			pw, want := "right", true
			if i%2 == 1 {
				pw, want = fmt.Sprint("wrong", i), false
			}
			if ok, err := Verify(t.Context(), hash, auth.Secret(pw)); ok != want || err != nil {
				t.Errorf("login %d: %v, %v; want %v", i, ok, err, want)
			}
		})
	}
	wg.Wait()
	t.Logf("24 concurrent verifications, %d slots: at most %d compared at once", slots, peak.Load())
	if calls.Load() != 24 {
		t.Errorf("%d comparisons, want 24", calls.Load())
	}
	if p := peak.Load(); p > slots {
		t.Errorf("%d bcrypt comparisons ran at once; the gate has %d slots", p, slots)
	}
}
