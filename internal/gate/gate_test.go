package gate_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/internal/gate"
)

// TestGateBoundsConcurrency: however many callers arrive at once, no more
// than Slots run their work together, and every caller gets its turn.
func TestGateBoundsConcurrency(t *testing.T) {
	t.Parallel()
	for _, slots := range []int{1, 2, 5} {
		g := gate.New(gate.Options{What: "test work", Key: "test.slots", Slots: slots, Wait: time.Minute})
		var running, peak, done atomic.Int64
		var wg sync.WaitGroup
		for range 40 {
			wg.Go(func() {
				err := g.Do(t.Context(), func() error {
					n := running.Add(1)
					for {
						p := peak.Load()
						if n <= p || peak.CompareAndSwap(p, n) {
							break
						}
					}
					time.Sleep(2 * time.Millisecond)
					running.Add(-1)
					return nil
				})
				if err != nil {
					t.Errorf("slots %d: %v", slots, err)
					return
				}
				done.Add(1)
			})
		}
		wg.Wait()
		t.Logf("slots %d: peak concurrency %d", slots, peak.Load())
		if p := peak.Load(); p > int64(slots) || p < 1 {
			t.Errorf("slots %d: %d ran at once", slots, p)
		}
		if done.Load() != 40 || g.InUse() != 0 {
			t.Errorf("slots %d: %d of 40 done, %d slots still taken", slots, done.Load(), g.InUse())
		}
	}
}

// TestGateRefusesWhenFull: with every slot taken, a caller is refused after
// the wait with a BusyError carrying Retry-After; a burst of refusals is
// one log line; a freed slot serves again.
func TestGateRefusesWhenFull(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer // refusals happen on this goroutine only
	g := gate.New(gate.Options{What: "password checks", Key: "limits.password_checks", Slots: 1,
		Wait: 10 * time.Millisecond, RetryAfter: 2 * time.Second, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	release, err := g.Enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		err := g.Do(t.Context(), func() error { t.Error("ran without a slot"); return nil })
		var be *gate.BusyError
		if !errors.Is(err, gate.ErrBusy) || !errors.As(err, &be) || be.RetryAfterSeconds() != 2 || be.Slots != 1 {
			t.Fatalf("full gate: %v; want a BusyError with Retry-After 2s", err)
		}
		if !strings.Contains(err.Error(), "password checks") {
			t.Errorf("message does not say what is busy: %v", err)
		}
	}
	if n := strings.Count(logs.String(), "too much work at once"); n != 1 {
		t.Errorf("%d log lines for one burst of refusals, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "limits.password_checks") {
		t.Errorf("the log does not name the setting:\n%s", logs.String())
	}
	release()
	release() // a second call is harmless
	if err := g.Do(t.Context(), func() error { return nil }); err != nil {
		t.Errorf("after the slot was freed: %v", err)
	}
	if g.InUse() != 0 {
		t.Errorf("%d slots taken after everything was released", g.InUse())
	}
}

// TestGateCallerGivesUp: a caller whose context ends while waiting gets
// its context's error, not ErrBusy (it was not refused; it left).
func TestGateCallerGivesUp(t *testing.T) {
	t.Parallel()
	g := gate.New(gate.Options{What: "test work", Slots: 1, Wait: time.Minute})
	release, err := g.Enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = g.Enter(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, gate.ErrBusy) {
		t.Errorf("cancelled caller: %v; want context.Canceled", err)
	}
}

func TestSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1500 * time.Millisecond, 2}, {30 * time.Second, 30}} {
		if got := gate.Seconds(tc.d); got != tc.want {
			t.Errorf("Seconds(%s) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func BenchmarkGateUncontended(b *testing.B) {
	g := gate.New(gate.Options{What: "bench", Slots: 4})
	ctx := context.Background()
	for b.Loop() {
		release, _ := g.Enter(ctx)
		release()
	}
}
