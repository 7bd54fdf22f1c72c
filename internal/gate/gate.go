package gate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrBusy means every slot of a gate stayed taken for as long as the caller
// could wait. It is the server's load, not the client's fault: the answer is
// 503 with Retry-After, and it never counts as a failed login.
var ErrBusy = errors.New("gate: busy")

// BusyError is a refusal by a full gate; errors.Is(err, ErrBusy) holds.
type BusyError struct {
	// What the slots are for, e.g. "password checks".
	What string
	// Slots is the gate's size and Key the setting that changes it.
	Slots int
	Key   string
	// RetryAfter is when the client should try again.
	RetryAfter time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("gate: all %d %s are busy; retry in %s", e.Slots, e.What, e.RetryAfter)
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// RetryAfterSeconds is RetryAfter in whole seconds, at least 1, for a
// Retry-After header.
func (e *BusyError) RetryAfterSeconds() int { return Seconds(e.RetryAfter) }

// Seconds rounds d up to whole seconds, at least 1: the value of a
// Retry-After header.
func Seconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}

// Options configure a Gate. Slots is required; zero values of the others
// take the defaults.
type Options struct {
	// What the slots are for, in messages ("password checks").
	What string
	// Key is the setting that changes Slots, named in the log when the gate
	// refuses ("limits.password_checks").
	Key string
	// Slots is how many callers may hold a slot at once.
	Slots int
	// Wait is how long a caller waits for a free slot (default 1s).
	Wait time.Duration
	// RetryAfter is what a refused caller is told (default 1s).
	RetryAfter time.Duration
	// Log hears about refusals, at most once a minute (nil discards).
	Log *slog.Logger
}

// Gate is a semaphore with a bounded wait. Waiting callers are served in
// arrival order.
type Gate struct {
	opts  Options
	sem   *semaphore.Weighted
	inUse atomic.Int64
	// refused counts refusals; report logs them at most once a minute.
	refused atomic.Int64
	report  Throttle
}

// New returns a gate; it panics if opts.Slots < 1 (a configuration error
// that Validate reports first).
func New(opts Options) *Gate {
	if opts.Slots < 1 {
		panic(fmt.Sprintf("gate: %s: %d slots", opts.What, opts.Slots))
	}
	if opts.Wait <= 0 {
		opts.Wait = time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Gate{opts: opts, sem: semaphore.NewWeighted(int64(opts.Slots)), report: Throttle{Every: time.Minute}}
}

// Slots is the gate's size.
func (g *Gate) Slots() int { return g.opts.Slots }

// InUse is how many slots are taken now.
func (g *Gate) InUse() int { return int(g.inUse.Load()) }

// Enter takes a slot, waiting at most the gate's Wait. The caller must call
// release exactly once when its work is done. The error is a *BusyError
// when the wait ran out, or ctx's error when the caller gave up first.
func (g *Gate) Enter(ctx context.Context) (release func(), err error) {
	if !g.sem.TryAcquire(1) {
		wctx, cancel := context.WithTimeout(ctx, g.opts.Wait)
		err := g.sem.Acquire(wctx, 1)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("gate: %s: %w", g.opts.What, ctx.Err())
			}
			return nil, g.refuse(ctx)
		}
	}
	g.inUse.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			g.inUse.Add(-1)
			g.sem.Release(1)
		})
	}, nil
}

// Do runs fn holding a slot.
func (g *Gate) Do(ctx context.Context, fn func() error) error {
	release, err := g.Enter(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

func (g *Gate) refuse(ctx context.Context) error {
	g.refused.Add(1)
	if g.report.Allow(time.Now()) {
		n := g.refused.Swap(0)
		g.opts.Log.WarnContext(ctx, "too much work at once: "+g.opts.What+" refused with 503 and Retry-After (logged at most once a minute)",
			"slots", g.opts.Slots, "waited", g.opts.Wait, "refused", n,
			"fix", "if this machine has CPU or capacity to spare, raise "+g.opts.Key+"; otherwise add replicas or find the client that floods")
	}
	return &BusyError{What: g.opts.What, Slots: g.opts.Slots, Key: g.opts.Key, RetryAfter: g.opts.RetryAfter}
}

// Throttle lets one event through per interval: a log line about a flood
// of refusals is written once a minute, not once per request. The zero
// value lets everything through; set Every.
type Throttle struct {
	Every time.Duration
	mu    sync.Mutex
	next  time.Time
}

// Allow reports whether an event at now may be logged.
func (t *Throttle) Allow(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		return false
	}
	t.next = now.Add(t.Every)
	return true
}
