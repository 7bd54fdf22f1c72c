package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"wharf/internal/metadata"
)

// ErrTagImmutable refuses a push or delete that would move or remove a tag
// an immutable_tags rule protects.
var ErrTagImmutable = errors.New("registry: tag immutable")

// ErrReadOnly refuses a write while the registry is read-only; the message
// carries the reason.
var ErrReadOnly = errors.New("registry: read-only")

// ReadOnlyRefresh is how often read-only mode set at runtime is read from
// the database: every replica sees a change within this time.
const ReadOnlyRefresh = 2 * time.Second

// immutableError turns the store's refusal into the client's message.
func immutableError(err error) error {
	var ie *metadata.ImmutableTagError
	if !errors.As(err, &ie) {
		return nil
	}
	current := "another manifest"
	if ie.Current != "" {
		current = ie.Current.String()
	}
	verb, fix := "moved", "push under a new tag"
	if ie.Delete {
		verb, fix = "deleted", "immutable tags stay; an administrator can change the rule"
	}
	return fmt.Errorf("%w: %s:%s is protected by immutable_tags rule %s and points at %s; it cannot be %s: %s",
		ErrTagImmutable, ie.Repo, ie.Tag, ie.Rule, current, verb, fix)
}

// readOnly is read-only mode: on for good when the configuration says so,
// else as last read from the database, re-read at most every
// ReadOnlyRefresh (by the request that finds it stale; the others use the
// last value meanwhile).
type readOnly struct {
	static string // the reason when the configuration sets it; "" otherwise
	meta   *metadata.Store
	now    func() time.Time

	mu      sync.Mutex
	state   metadata.ReadOnlyState
	readAt  time.Time
	reading bool
}

// ReadOnly reports whether writes are refused now, and why. A database
// that cannot be read keeps the last state known (writes would fail on it
// anyway) and logs the error.
func (r *Registry) ReadOnly(ctx context.Context) (on bool, reason string) {
	ro := &r.ro
	if ro.static != "" {
		return true, ro.static
	}
	if ro.meta == nil {
		return false, ""
	}
	ro.mu.Lock()
	st := ro.state
	stale := !ro.reading && ro.now().Sub(ro.readAt) >= ReadOnlyRefresh
	if stale {
		ro.reading = true
	}
	ro.mu.Unlock()
	if !stale {
		return st.Enabled, st.Reason
	}
	fresh, err := ro.meta.ReadOnly(ctx)
	ro.mu.Lock()
	ro.reading = false
	if err == nil {
		ro.state, ro.readAt, st = fresh, ro.now(), fresh
	}
	ro.mu.Unlock()
	if err != nil {
		r.log.WarnContext(ctx, "reading read-only mode failed; keeping the last state", "err", err)
	}
	return st.Enabled, st.Reason
}

// CheckWritable returns an error wrapping ErrReadOnly, with the reason,
// while the registry is read-only.
func (r *Registry) CheckWritable(ctx context.Context) error {
	on, reason := r.ReadOnly(ctx)
	if !on {
		return nil
	}
	if reason == "" {
		reason = "no reason given"
	}
	return fmt.Errorf("%w: the registry is read-only (%s); pulls work, pushes and deletes are refused until an administrator turns read-only mode off", ErrReadOnly, reason)
}
