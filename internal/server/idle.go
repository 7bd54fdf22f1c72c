package server

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// Returning memory after a burst. The Go runtime gives freed heap back to
// the operating system only in step with its collections, and collects only
// as the program allocates: once a burst of pushes is over, a registry that
// goes quiet keeps the burst's heap (copy buffers, connection state,
// garbage not yet collected) resident until the next burst. An idle server
// should be as small as it was before: on the small machines and shared
// hosts registries often run on, that memory belongs to the page cache the
// pulls read from, or to other processes.
const (
	// idleAfter is how long no request may have run before the server
	// counts as idle.
	idleAfter = time.Second
	// idleCheck is how often the server looks.
	idleCheck = 250 * time.Millisecond
	// trimAbove is how much the heap must have allocated since the last
	// trim, or hold free and not returned, for a trim to be worth its
	// collections: a health check every few seconds allocates a few KiB
	// and never causes one.
	trimAbove = 4 << 20
)

// idleTrimmer decides when to trim: its check runs every idleCheck.
type idleTrimmer struct {
	inflight *atomic.Int64 // requests being served
	lastDone *atomic.Int64 // when the last request ended, Unix ns
	// heap reads the bytes allocated so far and the heap memory free but
	// not returned to the operating system.
	heap func() (allocated, free uint64)
	// trim returns the memory.
	trim func()

	trimmed   int64  // when the last trim ran, Unix ns
	allocated uint64 // heap allocated when it ran
}

// newIdleTrimmer trims the Go heap of a server counting its requests in
// inflight and lastDone.
func newIdleTrimmer(inflight, lastDone *atomic.Int64) *idleTrimmer {
	samples := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	t := &idleTrimmer{
		inflight: inflight,
		lastDone: lastDone,
		heap: func() (uint64, uint64) {
			metrics.Read(samples)
			return samples[0].Value.Uint64(), samples[1].Value.Uint64()
		},
		trim: trimHeap,
	}
	t.allocated, _ = t.heap()
	return t
}

// trimHeap returns unused heap to the operating system: the first
// collection frees the burst's garbage, the second the buffers its
// sync.Pools kept (a pool keeps its items through one collection). For a
// heap of tens of megabytes that is a few milliseconds of CPU.
func trimHeap() {
	debug.FreeOSMemory()
	debug.FreeOSMemory()
}

// check trims, and reports it did, when requests were served since the
// last trim, none is running, the last ended idleAfter or more before now,
// and the heap allocated or holds enough to be worth it.
func (t *idleTrimmer) check(now time.Time) bool {
	done := t.lastDone.Load()
	if done <= t.trimmed || t.inflight.Load() > 0 || now.Sub(time.Unix(0, done)) < idleAfter {
		return false
	}
	allocated, free := t.heap()
	if allocated-t.allocated < trimAbove && free < trimAbove {
		return false
	}
	t.trim()
	t.trimmed = now.UnixNano()
	t.allocated, _ = t.heap()
	return true
}

// run checks every idleCheck until ctx ends.
func (t *idleTrimmer) run(ctx context.Context) {
	tick := time.NewTicker(idleCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t.check(now)
		}
	}
}

// requestDone records the end of a request for the idle trimmer.
func (s *Server) requestDone() { s.lastDone.Store(time.Now().UnixNano()) }
