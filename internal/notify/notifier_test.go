package notify

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/internal/events"
	"wharf/internal/metadata"
)

// receiver is a webhook receiver as distribution's documentation describes
// one: it decodes the envelope and keeps the events.
type receiver struct {
	mu   sync.Mutex
	got  []Event
	sigs []string
	// requests are the event ids of every envelope received, answered
	// or failed, in order.
	requests [][]string
	fail     atomic.Int32 // answer 503 to this many more requests
	// onFail, when set, runs before a request is failed; onRequest before
	// any is answered, with its number from 1.
	onFail    func()
	onRequest func(n int)
	server    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct {
			Events []Event `json:"events"`
		}
		if req.Header.Get("Content-Type") != EventsMediaType || json.Unmarshal(body, &env) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var ids []string
		for _, e := range env.Events {
			ids = append(ids, e.ID)
		}
		r.mu.Lock()
		r.requests = append(r.requests, ids)
		n := len(r.requests)
		r.mu.Unlock()
		if r.onRequest != nil {
			r.onRequest(n)
		}
		if r.fail.Add(-1) >= 0 {
			if r.onFail != nil {
				r.onFail()
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, env.Events...)
		r.sigs = append(r.sigs, req.Header.Get(SignatureHeader)+" "+string(body))
		r.mu.Unlock()
	}))
	t.Cleanup(r.server.Close)
	return r
}

// posts returns the event ids of every envelope received so far.
func (r *receiver) posts() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.requests...)
}

func (r *receiver) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.got...)
}

// waitFor waits until the receiver holds n events (bounded: the test fails
// rather than hangs).
func (r *receiver) waitFor(t *testing.T, n int) []Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.events(); len(got) >= n {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the receiver got %d events; want %d", len(r.events()), n)
	return nil
}

func openStore(t *testing.T) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testLog(t *testing.T) *slog.Logger {
	log, _ := readableLog(t)
	return log
}

// readableLog is a logger writing to a file of the test, and what it holds.
func readableLog(t *testing.T) (*slog.Logger, func() string) {
	path := filepath.Join(t.TempDir(), "notify.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), func() string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
}

func start(t *testing.T, s *metadata.Store, eps ...Endpoint) *Notifier {
	t.Helper()
	n, err := New(s, testLog(t), Options{Endpoints: eps, Poll: 50 * time.Millisecond, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t.Context())
	t.Cleanup(n.Close)
	return n
}

func push(repo, tag string) *events.Event {
	return &events.Event{Action: events.Push, Repository: repo, Tag: tag, MediaType: "application/vnd.oci.image.manifest.v1+json"}
}

// TestDeliversInOrderWithRetries: a receiver that fails gets every event
// again, in order, once it answers; the signature checks out.
func TestDeliversInOrderWithRetries(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	r.fail.Store(3) // threshold 2: two immediate retries, then backoff
	secret := []byte("s3cret")
	n := start(t, openStore(t), Endpoint{Name: "hook", URL: r.server.URL, Timeout: time.Second, Threshold: 2,
		Backoff: 10 * time.Millisecond, Secret: secret, Backlog: 100})
	for _, tag := range []string{"a", "b", "c", "d"} {
		n.Record(push("app", tag))
	}
	got := r.waitFor(t, 4)
	for i, tag := range []string{"a", "b", "c", "d"} {
		if got[i].Target.Tag != tag {
			t.Fatalf("event %d is tag %q; want %q (order: %v)", i, got[i].Target.Tag, tag, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("got %d events; want 4, each once", len(got))
	}
	r.mu.Lock()
	for _, s := range r.sigs {
		sig, body, _ := cut(s)
		if !Verify(secret, []byte(body), sig) {
			t.Errorf("signature %q does not verify its body", sig)
		}
	}
	r.mu.Unlock()
	// The receiver has them; the queue forgets them once the batch is
	// acknowledged, a moment later.
	var st []Stats
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if st, _, err = n.Stats(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st[0].Backlog == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st[0].Queued != 4 || st[0].Delivered != 4 || st[0].Failed != 3 || st[0].Backlog != 0 {
		t.Errorf("stats %+v; want queued 4, delivered 4, failed 3, backlog 0", st[0])
	}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// TestFiltersPerEndpoint: each endpoint gets what its filters let through.
func TestFiltersPerEndpoint(t *testing.T) {
	t.Parallel()
	all, team := newReceiver(t), newReceiver(t)
	n := start(t, openStore(t),
		Endpoint{Name: "all", URL: all.server.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond},
		Endpoint{Name: "team", URL: team.server.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond,
			Repositories: []string{"team/*"}, IgnoreActions: []string{"pull"}})
	n.Record(push("team/app", "1"))
	n.Record(&events.Event{Action: events.Pull, Repository: "team/app", MediaType: "m"})
	n.Record(push("other", "2"))
	n.Record(push("team/app", "3"))
	got := all.waitFor(t, 4)
	tg := team.waitFor(t, 2)
	if len(tg) != 2 || tg[0].Target.Tag != "1" || tg[1].Target.Tag != "3" {
		t.Errorf("the filtered endpoint got %+v; want team/app's pushes 1 and 3", tg)
	}
	if got[0].ID != tg[0].ID {
		t.Errorf("one event has two ids across endpoints: %s, %s", got[0].ID, tg[0].ID)
	}
}

// TestBacklogBound: with the receiver down, the backlog keeps the newest
// events and counts the dropped ones. (maxevents 1: a row per event, so
// that the bound, which drops whole rows, does not depend on how the
// events fell into flushes.)
func TestBacklogBound(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	r.fail.Store(1 << 30)
	s := openStore(t)
	log, logged := readableLog(t)
	n, err := New(s, log, Options{Endpoints: []Endpoint{{Name: "hook", URL: r.server.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Hour, Backlog: 5, MaxEvents: 1}},
		Poll: 50 * time.Millisecond, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t.Context())
	for i := range 12 {
		n.Record(push("app", string(rune('a'+i))))
		time.Sleep(15 * time.Millisecond) // across several flushes
	}
	deadline := time.Now().Add(10 * time.Second)
	var st []Stats
	for time.Now().Before(deadline) {
		var err error
		if st, _, err = n.Stats(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st[0].Queued == 12 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st[0].Queued != 12 || st[0].Backlog != 5 || st[0].Dropped != 7 {
		t.Fatalf("stats %+v; want queued 12, backlog 5, dropped 7", st[0])
	}
	rows, err := s.PendingNotifications(t.Context(), "hook", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := json.Unmarshal(rows[0].Body, &ev); err != nil || ev.Target.Tag != "h" {
		t.Errorf("the oldest kept event is tag %q (%v); want h, the 8th of 12", ev.Target.Tag, err)
	}
	n.Close()
	// The drops are logged, once a minute at most: here once.
	if c := strings.Count(logged(), "notification events dropped"); c != 1 {
		t.Errorf("%d log lines about dropped events; want 1 (at most one a minute):\n%s", c, logged())
	}
}

// TestCloseFlushes: events recorded just before Close are in the database
// afterwards, and a new notifier on it delivers them.
func TestCloseFlushes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	n, err := New(s, testLog(t), Options{
		Endpoints:     []Endpoint{{Name: "hook", URL: "http://127.0.0.1:1/unused", Timeout: time.Second, Threshold: 1, Backoff: time.Hour}},
		FlushInterval: time.Hour, // only Close flushes
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t.Context())
	n.Record(push("app", "x"))
	n.Record(push("app", "y"))
	n.Close()
	n.Record(push("app", "after"))
	rows, err := s.PendingNotifications(t.Context(), "hook", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Events != 2 {
		t.Fatalf("after Close the queue holds %d rows; want one, of the 2 events recorded before it", len(rows))
	}
	r := newReceiver(t)
	start(t, s, Endpoint{Name: "hook", URL: r.server.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond})
	got := r.waitFor(t, 2)
	if got[0].Target.Tag != "x" || got[1].Target.Tag != "y" {
		t.Errorf("the next notifier delivered %+v; want x then y", got)
	}
}

// TestOneSenderPerEndpoint: two notifiers (two replicas) on one database
// deliver each event once.
func TestOneSenderPerEndpoint(t *testing.T) {
	t.Parallel()
	r := newReceiver(t)
	s := openStore(t)
	ep := Endpoint{Name: "hook", URL: r.server.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond}
	a, b := start(t, s, ep), start(t, s, ep)
	for i := range 20 {
		if i%2 == 0 {
			a.Record(push("app", string(rune('a'+i))))
		} else {
			b.Record(push("app", string(rune('a'+i))))
		}
	}
	r.waitFor(t, 20)
	time.Sleep(300 * time.Millisecond) // several polls: a duplicate would show
	got := r.events()
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e.ID] {
			t.Errorf("event %s delivered twice", e.ID)
		}
		seen[e.ID] = true
	}
	if len(got) != 20 {
		t.Errorf("got %d deliveries; want 20", len(got))
	}
}

// TestRestartKeepsItsLease: a process restarted under the same owner name
// (after a kill -9, which releases nothing) delivers at once, while its
// previous life's lease still runs; another owner waits for it.
func TestRestartKeepsItsLease(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	if ok, err := s.ClaimNotifyEndpoint(t.Context(), "hook", "host:5000", time.Hour); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	if _, err := s.Enqueue(t.Context(), []metadata.Notification{{Endpoint: "hook", Body: []byte(`{"id":"1","action":"push"}`)}}, nil); err != nil {
		t.Fatal(err)
	}
	other, r := newReceiver(t), newReceiver(t)
	ep := func(url string) Endpoint {
		return Endpoint{Name: "hook", URL: url, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond}
	}
	n, err := New(s, testLog(t), Options{Endpoints: []Endpoint{ep(other.server.URL)}, Owner: "other:5000", Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t.Context())
	time.Sleep(200 * time.Millisecond) // twenty polls
	n.Close()
	if got := other.events(); len(got) != 0 {
		t.Fatalf("another owner delivered %v during a running lease", got)
	}
	n, err = New(s, testLog(t), Options{Endpoints: []Endpoint{ep(r.server.URL)}, Owner: "host:5000", Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n.Run(t.Context())
	t.Cleanup(n.Close)
	if got := r.waitFor(t, 1); got[0].ID != "1" {
		t.Errorf("got %+v; want the queued event", got)
	}
}

// TestFlushKeepsEventsTheDatabaseRefused: a failed write keeps the batch
// for the next flush, the newest Buffer events of it at most.
func TestFlushKeepsEventsTheDatabaseRefused(t *testing.T) {
	t.Parallel()
	s, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(s, testLog(t), Options{Buffer: 4, Endpoints: []Endpoint{{Name: "hook", URL: "http://127.0.0.1:1/"}}})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close() // every write fails from here
	for _, tag := range []string{"a", "b", "c"} {
		n.Record(push("app", tag))
	}
	held := n.flush(t.Context(), nil)
	if len(held) != 3 {
		t.Fatalf("after a failed write %d events are held; want the 3 recorded", len(held))
	}
	for _, tag := range []string{"d", "e", "f"} {
		n.Record(push("app", tag))
	}
	held = n.flush(t.Context(), held)
	if len(held) != 4 || held[0].Tag != "c" || held[3].Tag != "f" {
		t.Errorf("held %d events from %q; want the newest 4, c to f", len(held), held[0].Tag)
	}
	if _, dropped, _ := n.Stats(t.Context()); dropped != 2 {
		t.Errorf("%d events counted dropped; want the 2 oldest", dropped)
	}
}

// TestIdleWritesNothing: with nothing queued, the senders only read.
func TestIdleWritesNothing(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	r := newReceiver(t)
	start(t, s, Endpoint{Name: "hook", URL: r.server.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond})
	time.Sleep(300 * time.Millisecond) // six polls
	states, err := s.NotifyEndpoints(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 0 {
		t.Errorf("an idle sender wrote its endpoint's state: %+v", states)
	}
}
