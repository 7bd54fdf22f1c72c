package notify

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// queueEvents puts n rendered events for endpoint in the store's queue
// directly, ids "<prefix>0" on.
func queueEvents(t *testing.T, s *metadata.Store, endpoint, prefix string, n int) {
	t.Helper()
	var ns []metadata.Notification
	for i := range n {
		ns = append(ns, metadata.Notification{Endpoint: endpoint, Body: fmt.Appendf(nil, `{"id":"%s%d","action":"push"}`, prefix, i)})
	}
	if _, err := s.Enqueue(t.Context(), ns, nil); err != nil {
		t.Error(err) // Error, not Fatal: the receiver's goroutine queues too
	}
}

// TestDeliversBatches: a backlog goes out maxevents events a request, in
// order, each envelope signed as a whole; maxevents 1 sends them one by
// one as before.
func TestDeliversBatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		max   int
		posts []int // events per request
	}{
		{0, []int{100, 100, 50}}, // the default
		{40, []int{40, 40, 40, 40, 40, 40, 10}},
		{1, slices.Repeat([]int{1}, 250)},
	} {
		t.Run(fmt.Sprint("maxevents ", tc.max), func(t *testing.T) {
			t.Parallel()
			s := openStore(t)
			queueEvents(t, s, "hook", "e", 250)
			r := newReceiver(t)
			secret := []byte("k")
			start(t, s, Endpoint{Name: "hook", URL: r.server.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond,
				Secret: secret, MaxEvents: tc.max})
			got := r.waitFor(t, 250)
			for i, e := range got {
				if e.ID != fmt.Sprint("e", i) {
					t.Fatalf("event %d is %s; want e%d: out of order", i, e.ID, i)
				}
			}
			var sizes []int
			for _, p := range r.posts() {
				sizes = append(sizes, len(p))
			}
			if !slices.Equal(sizes, tc.posts) {
				t.Errorf("events per request %v; want %v", sizes, tc.posts)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, sb := range r.sigs {
				sig, body, _ := cut(sb)
				if !Verify(secret, []byte(body), sig) || !strings.HasPrefix(body, `{"events":[`) {
					t.Errorf("signature %q does not verify its envelope", sig)
				}
			}
		})
	}
}

// TestFailedBatchIsSentAgain: a receiver that answers an error gets the
// same envelope again, not one grown by the events queued meanwhile; they
// follow in the next one, and nothing is lost or repeated after.
func TestFailedBatchIsSentAgain(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	queueEvents(t, s, "hook", "a", 3)
	r := newReceiver(t)
	r.fail.Store(2)
	var once bool
	r.onFail = func() { // runs on the receiver's goroutine, one request at a time
		if !once {
			once = true
			queueEvents(t, s, "hook", "b", 4)
		}
	}
	n := start(t, s, Endpoint{Name: "hook", URL: r.server.URL, Timeout: time.Second, Threshold: 2, Backoff: 20 * time.Millisecond})
	got := r.waitFor(t, 7)
	want := [][]string{{"a0", "a1", "a2"}, {"a0", "a1", "a2"}, {"a0", "a1", "a2"}, {"b0", "b1", "b2", "b3"}}
	if posts := r.posts(); fmt.Sprint(posts) != fmt.Sprint(want) {
		t.Errorf("requests %v; want %v (the failed envelope twice more, then the new events)", posts, want)
	}
	if len(got) != 7 {
		t.Errorf("received %d events; want 7, each once", len(got))
	}
	st, _, err := n.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Failed != 2 || st[0].Delivered != 7 {
		t.Errorf("stats %+v; want 2 failed deliveries, 7 events delivered", st[0])
	}
}

// TestBatch: a delivery takes the head's run of events with its attempts
// (the envelope that failed, or new ones), within the body bound, and at
// least the head.
func TestBatch(t *testing.T) {
	t.Parallel()
	row := func(attempts, size int) metadata.Notification {
		return metadata.Notification{Attempts: attempts, Body: make([]byte, size)}
	}
	for _, tc := range []struct {
		name string
		rows []metadata.Notification
		max  int
		want int
	}{
		{"new events", []metadata.Notification{row(0, 10), row(0, 10), row(0, 10)}, 100, 3},
		{"a failed envelope, then new events", []metadata.Notification{row(2, 10), row(2, 10), row(0, 10)}, 100, 2},
		{"the body bound", []metadata.Notification{row(0, 40), row(0, 40), row(0, 40)}, 100, 2},
		{"one event past the bound", []metadata.Notification{row(0, 500), row(0, 10)}, 100, 1},
		{"exactly the bound", []metadata.Notification{row(0, 50), row(0, 50), row(0, 1)}, 100, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := batch(tc.rows, tc.max); len(got) != tc.want {
				t.Errorf("batch of %d rows = %d; want %d", len(tc.rows), len(got), tc.want)
			}
		})
	}
}
