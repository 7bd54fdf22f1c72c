package metadatatest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// notifyBodies returns the bodies of endpoint's pending notifications, in
// queue order.
func notifyBodies(t *testing.T, s *metadata.Store, endpoint string) []string {
	t.Helper()
	ns, err := s.PendingNotifications(t.Context(), endpoint, 0)
	if err != nil {
		t.Fatalf("PendingNotifications(%q): %v", endpoint, err)
	}
	out := []string{}
	for _, n := range ns {
		out = append(out, string(n.Body))
	}
	return out
}

func notifyState(t *testing.T, s *metadata.Store, endpoint string) metadata.NotifyEndpoint {
	t.Helper()
	all, err := s.NotifyEndpoints(t.Context())
	if err != nil {
		t.Fatalf("NotifyEndpoints: %v", err)
	}
	for _, e := range all {
		if e.Endpoint == endpoint {
			return e
		}
	}
	t.Fatalf("NotifyEndpoints has no %q: %+v", endpoint, all)
	return metadata.NotifyEndpoint{}
}

func queue(t *testing.T, s *metadata.Store, bound int, pairs ...string) map[string]int64 {
	t.Helper()
	var ns []metadata.Notification
	for i := 0; i+1 < len(pairs); i += 2 {
		ns = append(ns, metadata.Notification{Endpoint: pairs[i], Body: []byte(pairs[i+1])})
	}
	dropped, err := s.Enqueue(t.Context(), ns, func(string) int { return bound })
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return dropped
}

// testNotifyQueue: notifications come back per endpoint in the order they
// were queued, an ack removes exactly one, and the backlog counts follow.
func testNotifyQueue(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	queue(t, s, 0, "a", "a1", "b", "b1", "a", "a2")
	queue(t, s, 0, "a", "a3")
	if got := fmt.Sprint(notifyBodies(t, s, "a")); got != "[a1 a2 a3]" {
		t.Fatalf("endpoint a holds %s; want [a1 a2 a3]", got)
	}
	if got := fmt.Sprint(notifyBodies(t, s, "b")); got != "[b1]" {
		t.Fatalf("endpoint b holds %s; want [b1]", got)
	}
	head, err := s.PendingNotifications(ctx, "a", 1)
	if err != nil || len(head) != 1 {
		t.Fatalf("PendingNotifications(a, 1) = %v, %v; want one", head, err)
	}
	if head[0].Attempts != 0 || !head[0].NextAt.IsZero() || head[0].CreatedAt.IsZero() {
		t.Errorf("a new notification = %+v; want no attempt, no wait, a creation time", head[0])
	}
	if err := s.AckNotifications(ctx, "a", head[0].ID); err != nil {
		t.Fatalf("AckNotifications: %v", err)
	}
	if err := s.AckNotifications(ctx, "a", head[0].ID); err != nil {
		t.Fatalf("AckNotifications of a delivered notification again: %v; want nil (a redelivery)", err)
	}
	if err := s.AckNotifications(ctx, "b", head[0].ID); err != nil {
		t.Fatalf("AckNotifications(b, a's id): %v", err)
	}
	if got := fmt.Sprint(notifyBodies(t, s, "a")); got != "[a2 a3]" {
		t.Errorf("after the ack endpoint a holds %s; want [a2 a3]", got)
	}
	if got := fmt.Sprint(notifyBodies(t, s, "b")); got != "[b1]" {
		t.Errorf("an ack with another endpoint's name removed b's: b holds %s", got)
	}
	if st := notifyState(t, s, "a"); st.Pending != 2 || st.Dropped != 0 {
		t.Errorf("endpoint a: pending %d, dropped %d; want 2, 0", st.Pending, st.Dropped)
	}
	// Many at once, across statements; the ids between stay.
	var many []metadata.Notification
	for i := range 100 {
		many = append(many, metadata.Notification{Endpoint: "m", Body: []byte(fmt.Sprint(i))})
	}
	if _, err := s.Enqueue(ctx, many, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := s.PendingNotifications(ctx, "m", 0)
	if err != nil || len(rows) != 100 {
		t.Fatalf("PendingNotifications(m) = %d rows, %v; want 100 in one enqueue", len(rows), err)
	}
	var even []int64
	for i, r := range rows {
		if string(r.Body) != fmt.Sprint(i) {
			t.Fatalf("row %d holds %q: one enqueue of 100 came back out of order", i, r.Body)
		}
		if i%2 == 0 {
			even = append(even, r.ID)
		}
	}
	if err := s.AckNotifications(ctx, "m", even...); err != nil {
		t.Fatal(err)
	}
	left := notifyBodies(t, s, "m")
	if len(left) != 50 || left[0] != "1" || left[49] != "99" {
		t.Errorf("after acking the even rows, m holds %d: %v…", len(left), left[:min(3, len(left))])
	}
	if st := notifyState(t, s, "m"); st.Pending != 50 {
		t.Errorf("endpoint m: pending %d after 50 acks of 100; want 50", st.Pending)
	}
	if _, err := s.Enqueue(ctx, []metadata.Notification{{Endpoint: "", Body: []byte("x")}}, nil); err == nil {
		t.Errorf("Enqueue with an empty endpoint name succeeded")
	}
}

// testNotifyRetry: a failed delivery's attempts and next time are kept, so
// that a restarted sender resumes the backoff; a failed envelope marks
// every notification it carried, and only those.
func testNotifyRetry(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	queue(t, s, 0, "hook", "first", "hook", "second", "hook", "third")
	ns, err := s.PendingNotifications(ctx, "hook", 0)
	if err != nil || len(ns) != 3 {
		t.Fatalf("PendingNotifications = %v, %v", ns, err)
	}
	next := created.Add(time.Hour)
	for range 3 {
		if err := s.RetryNotifications(ctx, "hook", next, ns[0].ID, ns[1].ID); err != nil {
			t.Fatalf("RetryNotifications: %v", err)
		}
	}
	got, err := s.PendingNotifications(ctx, "hook", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got[:2] {
		if g.Attempts != 3 || !g.NextAt.Equal(next) {
			t.Errorf("%s after its envelope failed 3 times: attempts %d, next %v; want 3, %v", g.Body, g.Attempts, g.NextAt, next)
		}
	}
	if got[2].Attempts != 0 || !got[2].NextAt.IsZero() {
		t.Errorf("a notification outside the failed envelope changed: %+v", got[2])
	}
	if err := s.RetryNotifications(ctx, "other", next, ns[0].ID); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("RetryNotifications with another endpoint's name = %v; want ErrNotFound", err)
	}
	if err := s.AckNotifications(ctx, "hook", ns[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryNotifications(ctx, "hook", next, ns[0].ID, ns[1].ID); err != nil {
		t.Errorf("RetryNotifications with one id gone = %v; want nil (the others are marked)", err)
	}
	if err := s.RetryNotifications(ctx, "hook", next, ns[0].ID); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("RetryNotifications of a delivered notification = %v; want ErrNotFound", err)
	}
}

// testNotifyBatches: flushes of many notifications, past one statement's
// rows and bytes, come back whole and in order, and a sender's batch of
// acks past one statement's ids removes exactly those.
func testNotifyBatches(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	var ns []metadata.Notification
	for i := range 2500 {
		body := []byte(fmt.Sprintf("%05d", i))
		if i%1000 == 7 { // past a statement's byte bound alone
			body = append(body, bytes.Repeat([]byte("x"), 5<<20)...)
		}
		ns = append(ns, metadata.Notification{Endpoint: "bulk", Body: body})
	}
	if _, err := s.Enqueue(ctx, ns, nil); err != nil {
		t.Fatalf("Enqueue of 2500: %v", err)
	}
	rows, err := s.PendingNotifications(ctx, "bulk", 0)
	if err != nil || len(rows) != len(ns) {
		t.Fatalf("PendingNotifications(bulk) = %d rows, %v; want %d", len(rows), err, len(ns))
	}
	var acked []int64
	for i, r := range rows {
		if !bytes.Equal(r.Body, ns[i].Body) {
			t.Fatalf("row %d holds %.5q (%d bytes); want %.5q (%d bytes): a flush came back out of order or cut", i, r.Body, len(r.Body), ns[i].Body, len(ns[i].Body))
		}
		if i%5 != 0 {
			acked = append(acked, r.ID)
		}
	}
	if err := s.AckNotifications(ctx, "bulk", acked...); err != nil {
		t.Fatalf("AckNotifications of %d: %v", len(acked), err)
	}
	left := notifyBodies(t, s, "bulk")
	if len(left) != 500 || left[1][:5] != "00005" || left[499][:5] != "02495" {
		t.Errorf("after acking 2000 of 2500, bulk holds %d, starting %.5q", len(left), left[:min(3, len(left))])
	}
	if st := notifyState(t, s, "bulk"); st.Pending != 500 {
		t.Errorf("endpoint bulk: pending %d after 2000 acks of 2500; want 500", st.Pending)
	}
}

// testNotifyBacklogBound: past its bound an endpoint loses its oldest
// notifications, counted as dropped; other endpoints keep theirs.
func testNotifyBacklogBound(t *testing.T, s *metadata.Store) {
	var pairs []string
	for i := range 5 {
		pairs = append(pairs, "small", fmt.Sprintf("s%d", i))
	}
	pairs = append(pairs, "free", "f0")
	dropped := queue(t, s, 3, pairs...)
	if dropped["small"] != 2 || dropped["free"] != 0 {
		t.Errorf("dropped %v; want small:2 and none of free", dropped)
	}
	if got := fmt.Sprint(notifyBodies(t, s, "small")); got != "[s2 s3 s4]" {
		t.Errorf("after the bound endpoint small holds %s; want the newest three [s2 s3 s4]", got)
	}
	dropped = queue(t, s, 3, "small", "s5")
	if dropped["small"] != 1 {
		t.Errorf("one more past the bound dropped %v; want small:1", dropped)
	}
	wantQueue(t, s, "small", "[s3 s4 s5]", 3, 3)
}

// wantQueue checks endpoint's bodies, in order, and its pending and
// dropped counts.
func wantQueue(t *testing.T, s *metadata.Store, endpoint, bodies string, pending, dropped int64) {
	t.Helper()
	if got := fmt.Sprint(notifyBodies(t, s, endpoint)); got != bodies {
		t.Errorf("endpoint %s holds %s; want %s", endpoint, got, bodies)
	}
	if st := notifyState(t, s, endpoint); st.Pending != pending || st.Dropped != dropped {
		t.Errorf("endpoint %s: pending %d, dropped %d; want %d, %d", endpoint, st.Pending, st.Dropped, pending, dropped)
	}
}

// testNotifyRowsOfEvents: a row may carry several events (a flush's
// envelope): the backlog counts its events, a read stops at the events
// asked for (one row at least), an ack takes its events off, and the bound
// drops whole rows, counting their events.
func testNotifyRowsOfEvents(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	rows := func(endpoint string, events ...int) []metadata.Notification {
		var ns []metadata.Notification
		for i, n := range events {
			ns = append(ns, metadata.Notification{Endpoint: endpoint, Body: fmt.Appendf(nil, "r%d", i), Events: n})
		}
		return ns
	}
	if _, err := s.Enqueue(ctx, rows("env", 100, 100, 50, 0), nil); err != nil {
		t.Fatal(err)
	}
	if st := notifyState(t, s, "env"); st.Pending != 251 {
		t.Fatalf("endpoint env: pending %d after rows of 100, 100, 50 and 0 (one) events; want 251", st.Pending)
	}
	for _, tc := range []struct {
		most int
		want string
	}{
		{0, "[r0 r1 r2 r3]"}, {100, "[r0]"}, {199, "[r0]"}, {200, "[r0 r1]"}, {10, "[r0]"}, {251, "[r0 r1 r2 r3]"},
	} {
		got, err := s.PendingNotifications(ctx, "env", tc.most)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, n := range got {
			bodies = append(bodies, string(n.Body))
		}
		if fmt.Sprint(bodies) != tc.want {
			t.Errorf("PendingNotifications(env, %d) = %v; want %s", tc.most, bodies, tc.want)
		}
		if len(got) > 0 && got[0].Events != 100 {
			t.Errorf("the first row carries %d events; want 100", got[0].Events)
		}
	}
	head, err := s.PendingNotifications(ctx, "env", 200)
	if err != nil || len(head) != 2 {
		t.Fatalf("PendingNotifications(env, 200) = %v, %v", head, err)
	}
	if err := s.AckNotifications(ctx, "env", head[0].ID, head[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AckNotifications(ctx, "env", head[0].ID); err != nil {
		t.Fatal(err)
	}
	if st := notifyState(t, s, "env"); st.Pending != 51 {
		t.Errorf("endpoint env: pending %d after acking two rows of 100, one twice; want 51", st.Pending)
	}
	// Past a bound of 250 events, the oldest rows go whole: 51 + 300
	// queued is 101 too many, which takes the two old rows (51 events) and
	// the first new one (100), not part of it.
	dropped, err := s.Enqueue(ctx, rows("env", 100, 100, 100), func(string) int { return 250 })
	if err != nil {
		t.Fatal(err)
	}
	if dropped["env"] != 151 {
		t.Errorf("dropped %v; want env: 151, the events of the three oldest rows", dropped)
	}
	wantQueue(t, s, "env", "[r1 r2]", 200, 151) // the newest two rows
}

// testNotifyLease: one owner at a time delivers an endpoint; the lease is
// renewed by its owner, taken over when it lapses or is released.
func testNotifyLease(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	claim := func(owner string, lease time.Duration) bool {
		t.Helper()
		ok, err := s.ClaimNotifyEndpoint(ctx, "hook", owner, lease)
		if err != nil {
			t.Fatalf("ClaimNotifyEndpoint(%s): %v", owner, err)
		}
		return ok
	}
	if !claim("r1", time.Hour) {
		t.Fatal("the first claim failed")
	}
	if claim("r2", time.Hour) {
		t.Fatal("a second owner took a running lease")
	}
	if !claim("r1", time.Hour) {
		t.Fatal("the owner could not renew its lease")
	}
	if err := s.ReleaseNotifyEndpoint(ctx, "hook", "r2"); err != nil {
		t.Fatal(err)
	}
	if claim("r2", time.Hour) {
		t.Fatal("a release by a non-owner ended the lease")
	}
	if err := s.ReleaseNotifyEndpoint(ctx, "hook", "r1"); err != nil {
		t.Fatal(err)
	}
	if !claim("r2", -time.Second) {
		t.Fatal("a released lease could not be taken")
	}
	if !claim("r3", time.Hour) {
		t.Fatal("a lapsed lease could not be taken")
	}
	// Many claimants at once: exactly one wins.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		won []string
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("c%d", i)
			ok, err := s.ClaimNotifyEndpoint(ctx, "race", owner, time.Hour)
			if err != nil {
				t.Errorf("ClaimNotifyEndpoint(%s): %v", owner, err)
			}
			if ok {
				mu.Lock()
				won = append(won, owner)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 {
		t.Errorf("concurrent claims won by %v; want exactly one", won)
	}
}
