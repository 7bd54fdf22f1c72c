package server

import (
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdleTrimmerDecides walks the trimmer through a server's day with a
// fake heap and clock: no trim before any request, during one, or before
// the server was idle for idleAfter; one after a burst; none after a health
// check that allocated little; one again after the next burst.
func TestIdleTrimmerDecides(t *testing.T) {
	var inflight, lastDone atomic.Int64
	var allocated, free uint64
	trims := 0
	tr := &idleTrimmer{
		inflight: &inflight,
		lastDone: &lastDone,
		heap:     func() (uint64, uint64) { return allocated, free },
		trim:     func() { trims++; free = 0 },
	}
	t0 := time.Unix(1_000_000, 0)
	step := func(what string, now time.Time, want bool) {
		t.Helper()
		before := trims
		if got := tr.check(now); got != want || trims-before != map[bool]int{false: 0, true: 1}[want] {
			t.Fatalf("%s: check = %v (%d trims), want %v", what, got, trims-before, want)
		}
	}
	step("no request served yet", t0, false)

	// A burst of pushes: 64 MiB allocated, 20 MiB of it left free.
	allocated, free = 64<<20, 20<<20
	lastDone.Store(t0.UnixNano())
	inflight.Store(1)
	step("a request still running", t0.Add(5*time.Second), false)
	inflight.Store(0)
	step("idle for less than idleAfter", t0.Add(idleAfter/2), false)
	step("idle for idleAfter after a burst", t0.Add(idleAfter), true)
	step("still idle, trimmed already", t0.Add(10*time.Second), false)

	// A health check: a few KiB.
	allocated += 4 << 10
	lastDone.Store(t0.Add(20 * time.Second).UnixNano())
	step("idle after a health check", t0.Add(30*time.Second), false)

	// The next burst.
	allocated += 32 << 20
	free = 8 << 20
	lastDone.Store(t0.Add(40 * time.Second).UnixNano())
	step("idle after the next burst", t0.Add(45*time.Second), true)

	// Memory freed by the runtime but not returned counts on its own.
	free = 8 << 20
	lastDone.Store(t0.Add(50 * time.Second).UnixNano())
	step("idle with free heap held", t0.Add(55*time.Second), true)
}

// TestIdleTrimmerReturnsMemory runs the real trimmer on this process after
// a request that allocated 64 MiB and dropped it: the heap memory returned
// to the operating system grows by most of it.
func TestIdleTrimmerReturnsMemory(t *testing.T) {
	s := &Server{}
	tr := newIdleTrimmer(&s.inflight, &s.lastDone)
	var keep [][]byte
	h := s.counting(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 64 {
			keep = append(keep, make([]byte, 1<<20))
		}
		for _, b := range keep {
			b[0] = 1 // touch: resident
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v2/", nil))
	keep = nil
	released := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := released()
	if !tr.check(time.Now().Add(idleAfter)) {
		t.Fatal("the trimmer did not trim after a request that allocated 64 MiB")
	}
	if got := released() - before; got < 32<<20 {
		t.Errorf("trim returned %d MiB to the operating system, want at least 32 of the 64 dropped", got>>20)
	}
}
