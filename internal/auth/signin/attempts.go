package signin

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrTooManyAttempts means the bound of sign-ins in progress is reached.
var ErrTooManyAttempts = errors.New("signin: too many sign-ins in progress")

// Attempts keeps the sign-ins in progress between their start and the
// provider's callback, which behind a load balancer may reach another
// replica: the composition root gives one in the shared database.
type Attempts interface {
	// Put records a for backend until expires, or returns
	// ErrTooManyAttempts when maxAttempts are in progress.
	Put(ctx context.Context, backend string, a Attempt, expires time.Time) error
	// Take removes and returns backend's attempt of state if it has not
	// expired: a replayed callback finds nothing.
	Take(ctx context.Context, backend, state string) (Attempt, bool, error)
}

// memoryAttempts is Attempts in this process's memory, for a Login given
// none (one process, its tests).
type memoryAttempts struct {
	now func() time.Time

	mu sync.Mutex
	m  map[string]attempt
}

type attempt struct {
	Attempt
	expires time.Time
}

func newMemoryAttempts(now func() time.Time) *memoryAttempts {
	return &memoryAttempts{now: now, m: map[string]attempt{}}
}

// Put implements Attempts, dropping expired attempts when half full.
func (m *memoryAttempts) Put(_ context.Context, backend string, a Attempt, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.m) >= maxAttempts/2 {
		for k, v := range m.m {
			if !now.Before(v.expires) {
				delete(m.m, k)
			}
		}
	}
	if len(m.m) >= maxAttempts {
		return ErrTooManyAttempts
	}
	m.m[backend+"\x00"+a.State] = attempt{Attempt: a, expires: expires}
	return nil
}

// Take implements Attempts.
func (m *memoryAttempts) Take(_ context.Context, backend, state string) (Attempt, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := backend + "\x00" + state
	a, ok := m.m[k]
	delete(m.m, k)
	if !ok || !m.now().Before(a.expires) {
		return Attempt{}, false, nil
	}
	return a.Attempt, true, nil
}
