package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
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

// TestFlushQueuesEnvelopes: a flush writes each endpoint's events as rows
// of up to its maxevents events, in order, each endpoint with its filters;
// they are delivered as those envelopes, every event once and in order,
// and the counters count events, not rows.
func TestFlushQueuesEnvelopes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	eps := []Endpoint{
		{Name: "all", URL: "http://127.0.0.1:1/unused", MaxEvents: 100},
		{Name: "some", URL: "http://127.0.0.1:1/unused", MaxEvents: 40, Repositories: []string{"keep/*"}},
	}
	n, err := New(s, testLog(t), Options{Endpoints: eps, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t.Context())
	for i := range 250 {
		repo := "drop/app"
		if i%2 == 0 {
			repo = "keep/app"
		}
		n.Record(push(repo, fmt.Sprint("t", i)))
	}
	n.Close() // one flush of all 250
	for _, tc := range []struct {
		endpoint string
		rows     []int
		tags     []string // of the events, in order
	}{
		{"all", []int{100, 100, 50}, tags(0, 250, 1)},
		{"some", []int{40, 40, 40, 5}, tags(0, 250, 2)},
	} {
		rows, err := s.PendingNotifications(t.Context(), tc.endpoint, 0)
		if err != nil {
			t.Fatal(err)
		}
		var sizes []int
		var got []string
		for _, r := range rows {
			sizes = append(sizes, r.Events)
			var env struct{ Events []Event }
			if err := json.Unmarshal(envelope([][]byte{r.Body}), &env); err != nil || len(env.Events) != r.Events {
				t.Fatalf("endpoint %s: a row of %d events is not their JSON joined by commas (%d decoded, %v): %.80s", tc.endpoint, r.Events, len(env.Events), err, r.Body)
			}
			for _, e := range env.Events {
				got = append(got, e.Target.Tag)
			}
		}
		if !slices.Equal(sizes, tc.rows) {
			t.Errorf("endpoint %s: rows of %v events; want %v", tc.endpoint, sizes, tc.rows)
		}
		if !slices.Equal(got, tc.tags) {
			t.Errorf("endpoint %s: events %v…; want %v…", tc.endpoint, got[:min(5, len(got))], tc.tags[:5])
		}
	}
	r := newReceiver(t)
	eps[0].URL, eps[0].Timeout = r.server.URL, time.Second
	m := start(t, s, eps[0])
	got := r.waitFor(t, 250)
	for i, e := range got {
		if e.Target.Tag != fmt.Sprint("t", i) {
			t.Fatalf("event %d is tag %s; want t%d: out of order", i, e.Target.Tag, i)
		}
	}
	var sizes []int
	for _, p := range r.posts() {
		sizes = append(sizes, len(p))
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("events per request %v; want [100 100 50]", sizes)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, err := m.Stats(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if st[0].Delivered == 250 && st[0].Backlog == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v; want 250 delivered, a backlog of 0", st[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tags are "t<from>", "t<from+step>", … below to.
func tags(from, to, step int) []string {
	var out []string
	for i := from; i < to; i += step {
		out = append(out, fmt.Sprint("t", i))
	}
	return out
}

// TestRemovesEnvelopesTogether: the rows of the envelopes of one read
// stay queued until the last of them is answered, and go in one removal:
// while the fifth envelope of 500 events is being answered, the first four
// are still in the database.
func TestRemovesEnvelopesTogether(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	var ns []metadata.Notification
	for i := range 5 {
		ns = append(ns, metadata.Notification{Endpoint: "hook", Events: 100, Body: rowBody(fmt.Sprint("r", i), 100)})
	}
	if _, err := s.Enqueue(t.Context(), ns, nil); err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t)
	var queuedAtLast atomic.Int64
	r.onRequest = func(n int) {
		if n == 5 {
			rows, err := s.PendingNotifications(context.Background(), "hook", 0)
			if err != nil {
				t.Error(err)
			}
			queuedAtLast.Store(int64(len(rows)))
		}
	}
	start(t, s, Endpoint{Name: "hook", URL: r.server.URL, Timeout: 5 * time.Second})
	r.waitFor(t, 500)
	if got := queuedAtLast.Load(); got != 5 {
		t.Errorf("while the fifth envelope was answered %d rows were queued; want all 5 (removed together after it)", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := s.PendingNotifications(t.Context(), "hook", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows still queued after every envelope was answered", len(rows))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rowBody is a queued row of n events with ids "<prefix>.<i>".
func rowBody(prefix string, n int) []byte {
	var evs [][]byte
	for i := range n {
		evs = append(evs, fmt.Appendf(nil, `{"id":"%s.%d","action":"push"}`, prefix, i))
	}
	return bytes.TrimSuffix(bytes.TrimPrefix(envelope(evs), []byte(`{"events":[`)), []byte("]}"))
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

// TestBatch: a delivery takes the head's run of rows with its attempts
// (the envelope that failed, or new ones), within the body bound and
// maxevents events, and at least the head.
func TestBatch(t *testing.T) {
	t.Parallel()
	row := func(attempts, size int) metadata.Notification {
		return metadata.Notification{Attempts: attempts, Body: make([]byte, size)}
	}
	rowOf := func(events, size int) metadata.Notification {
		return metadata.Notification{Events: events, Body: make([]byte, size)}
	}
	for _, tc := range []struct {
		name      string
		rows      []metadata.Notification
		maxEvents int
		max       int
		want      int
	}{
		{"new events", []metadata.Notification{row(0, 10), row(0, 10), row(0, 10)}, 100, 100, 3},
		{"a failed envelope, then new events", []metadata.Notification{row(2, 10), row(2, 10), row(0, 10)}, 100, 100, 2},
		{"the body bound", []metadata.Notification{row(0, 40), row(0, 40), row(0, 40)}, 100, 100, 2},
		{"one event past the bound", []metadata.Notification{row(0, 500), row(0, 10)}, 100, 100, 1},
		{"exactly the bound", []metadata.Notification{row(0, 50), row(0, 50), row(0, 1)}, 100, 100, 2},
		{"maxevents single events", []metadata.Notification{row(0, 1), row(0, 1), row(0, 1)}, 2, 100, 2},
		{"rows of several events up to maxevents", []metadata.Notification{rowOf(60, 1), rowOf(40, 1), rowOf(1, 1)}, 100, 100, 2},
		{"a row past maxevents goes alone", []metadata.Notification{rowOf(100, 1), rowOf(1, 1)}, 10, 100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := batch(tc.rows, tc.maxEvents, tc.max); len(got) != tc.want {
				t.Errorf("batch of %d rows = %d; want %d", len(tc.rows), len(got), tc.want)
			}
		})
	}
}
