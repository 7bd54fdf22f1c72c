package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/metadata"
)

func TestQueueOrderAndDropPolicy(t *testing.T) {
	t.Parallel()
	rec := func(id string) metadata.AuditRecord { return metadata.AuditRecord{RequestID: id} }
	ids := func(es []entry) []string {
		out := []string{}
		for _, e := range es {
			out = append(out, e.rec.RequestID)
		}
		return out
	}
	type add struct {
		id      string
		routine bool
	}
	for _, tc := range []struct {
		name                string
		max                 int
		adds                []add
		want                []string
		dropped, droppedImp int64
	}{
		{"arrival order across kinds", 10,
			[]add{{"p1", true}, {"c1", false}, {"p2", true}, {"p3", true}, {"c2", false}},
			[]string{"p1", "c1", "p2", "p3", "c2"}, 0, 0},
		{"a full queue drops the oldest pull, not a change", 3,
			[]add{{"c1", false}, {"p1", true}, {"p2", true}, {"c2", false}, {"c3", false}},
			[]string{"c1", "c2", "c3"}, 2, 0},
		{"a pull arriving at a queue full of changes is dropped", 2,
			[]add{{"c1", false}, {"c2", false}, {"p1", true}},
			[]string{"c1", "c2"}, 1, 0},
		{"only changes: the oldest change goes, and is counted apart", 2,
			[]add{{"c1", false}, {"c2", false}, {"c3", false}},
			[]string{"c2", "c3"}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := queue{max: tc.max}
			for _, a := range tc.adds {
				q.add(rec(a.id), eventParts{}, a.routine)
			}
			// Taken in two steps, to check that take resumes in order.
			got := q.take(nil, 2)
			got = q.take(got, 100)
			if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
				t.Errorf("taken records differ (-want +got):\n%s", diff)
			}
			if q.droppedRoutine != tc.dropped || q.droppedImportant != tc.droppedImp {
				t.Errorf("dropped %d routine and %d other records; want %d and %d", q.droppedRoutine, q.droppedImportant, tc.dropped, tc.droppedImp)
			}
			if q.len() != 0 {
				t.Errorf("queue holds %d after taking everything", q.len())
			}
		})
	}
}

// TestQueueLongRun checks that a queue that is filled and emptied many
// times, across its blocks, keeps its order and its memory bounded.
func TestQueueLongRun(t *testing.T) {
	t.Parallel()
	q := queue{max: 100}
	next := 0
	for round := range 200 {
		for i := range 50 {
			q.add(metadata.AuditRecord{RequestID: fmt.Sprint(round*50 + i)}, eventParts{}, i%2 == 0)
		}
		for _, e := range q.take(nil, 50) {
			if e.rec.RequestID != fmt.Sprint(next) {
				t.Fatalf("took %s; want %d", e.rec.RequestID, next)
			}
			next++
		}
	}
	// Blocks in use: at most what 100 entries need, plus the spares.
	blocks := 0
	for _, f := range []*fifo{&q.routine, &q.other} {
		blocks += len(f.spares)
		for b := f.head; b != nil; b = b.next {
			blocks++
		}
	}
	if blocks > 2*(2+maxSpares) {
		t.Errorf("the queue holds %d blocks after 10000 records through a queue of 100", blocks)
	}
}

// memStore is a Store whose writes can be made to fail, to see what the
// writer does when the database does.
type memStore struct {
	mu      sync.Mutex
	recs    []metadata.AuditRecord
	writes  int
	fail    bool
	blocked chan struct{} // when set, InsertAudit waits for it to close
}

func (m *memStore) InsertAudit(ctx context.Context, recs []metadata.AuditRecord) error {
	m.mu.Lock()
	b := m.blocked
	m.mu.Unlock()
	if b != nil {
		<-b
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("database down")
	}
	m.writes++
	m.recs = append(m.recs, recs...)
	return nil
}

func (m *memStore) DeleteAuditBefore(ctx context.Context, before time.Time, max int) (int, error) {
	return 0, nil
}

func (m *memStore) snapshot() (recs []metadata.AuditRecord, writes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]metadata.AuditRecord(nil), m.recs...), m.writes
}

func TestLogBatchesAndFlushesOnClose(t *testing.T) {
	t.Parallel()
	st := &memStore{}
	// Every is long: only full batches and Close write.
	l, err := New(Options{Store: st, Log: slog.New(slog.DiscardHandler), Batch: 100, Every: time.Hour, Pulls: PullsAll})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 250 {
		l.add(metadata.AuditRecord{RequestID: fmt.Sprint(i)}, eventParts{}, i%3 == 0)
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	recs, writes := st.snapshot()
	if len(recs) != 250 {
		t.Fatalf("stored %d records; want all 250 after Close", len(recs))
	}
	for i, r := range recs {
		if r.RequestID != fmt.Sprint(i) {
			t.Fatalf("record %d is %s: order lost", i, r.RequestID)
		}
		if r.Time.IsZero() {
			t.Fatalf("record %d has no time", i)
		}
	}
	// 250 records in batches of at most 100: at least 3 writes, and far
	// fewer than one a record.
	if writes < 3 || writes > 10 {
		t.Errorf("%d writes for 250 records in batches of 100", writes)
	}
	if l.Written() != 250 {
		t.Errorf("Written() = %d; want 250", l.Written())
	}
}

func TestLogKeepsRecordsWhileTheDatabaseFails(t *testing.T) {
	t.Parallel()
	st := &memStore{fail: true}
	var logs bytes.Buffer
	var logMu sync.Mutex
	h := slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil)
	l, err := New(Options{Store: st, Log: slog.New(h), Queue: 10, Batch: 5, Every: 5 * time.Millisecond, Pulls: PullsAll})
	if err != nil {
		t.Fatal(err)
	}
	l.add(metadata.AuditRecord{RequestID: "change"}, eventParts{}, false)
	for i := range 30 {
		l.add(metadata.AuditRecord{RequestID: fmt.Sprint("pull", i)}, eventParts{}, true)
	}
	// Wait until the writer has tried (and failed) at least once.
	for deadline := time.Now().Add(10 * time.Second); ; {
		logMu.Lock()
		tried := strings.Contains(logs.String(), "writing records failed")
		logMu.Unlock()
		if tried {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer never reported the failing database")
		}
		time.Sleep(5 * time.Millisecond)
	}
	st.mu.Lock()
	st.fail = false
	st.mu.Unlock()
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs, _ := st.snapshot()
	if len(recs) == 0 || recs[0].RequestID != "change" {
		t.Fatalf("stored %d records, first %v; want the change first", len(recs), recs)
	}
	// At most the queue (10) plus the batch in hand (5) survive; every
	// other pull was dropped and counted.
	if len(recs) > 15 || l.Dropped() != int64(31-len(recs)) || l.Lost() != 0 {
		t.Errorf("stored %d records, dropped %d pulls and lost %d others; want at most 15 stored and the rest of 31 counted as dropped pulls",
			len(recs), l.Dropped(), l.Lost())
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "records dropped") {
		t.Errorf("no log line about dropped records:\n%s", logs.String())
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestCloseGivesUpWithItsContext(t *testing.T) {
	t.Parallel()
	st := &memStore{blocked: make(chan struct{})}
	l, err := New(Options{Store: st, Log: slog.New(slog.DiscardHandler), Every: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l.add(metadata.AuditRecord{}, eventParts{}, false)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := l.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a stuck database = %v; want the context's deadline", err)
	}
	close(st.blocked)
	if err := l.Close(t.Context()); err != nil {
		t.Errorf("second Close after the database came back: %v", err)
	}
}

func TestExpireOnSQLite(t *testing.T) {
	t.Parallel()
	st, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "m.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []metadata.AuditRecord
	for i := range 2500 { // more than two delete batches are old
		recs = append(recs, metadata.AuditRecord{Time: now.Add(-time.Duration(2500-i) * time.Hour), Action: "pull"})
	}
	if err := st.InsertAudit(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	l, err := New(Options{Store: st, Log: slog.New(slog.DiscardHandler), Retention: 100 * time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(t.Context())
	n, err := l.Expire(t.Context())
	if err != nil || n != 2400 {
		t.Fatalf("Expire = %d, %v; want the 2400 records older than 100 hours", n, err)
	}
	left, _, err := st.ListAudit(t.Context(), metadata.AuditQuery{Limit: 1000})
	if err != nil || len(left) != 100 {
		t.Fatalf("%d records left, %v; want 100", len(left), err)
	}
}

// TestExpireTakesTurns: the hourly deletion of old records runs only on the
// replica whose turn it is (the job's lease); the others delete nothing.
func TestExpireTakesTurns(t *testing.T) {
	t.Parallel()
	st, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "m.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now()
	if err := st.InsertAudit(t.Context(), []metadata.AuditRecord{{Time: now.Add(-time.Hour), Action: "pull"}}); err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	var mine atomic.Bool
	l, err := New(Options{Store: st, Log: slog.New(slog.DiscardHandler), Retention: time.Minute, RetentionEvery: 5 * time.Millisecond,
		Turn: func(context.Context) (bool, error) { asked.Add(1); return mine.Load(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(t.Context())
	left := func() int {
		recs, _, err := st.ListAudit(t.Context(), metadata.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for asked.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatal("the expiry never asked for its turn")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := left(); n != 1 {
		t.Fatalf("a replica without its turn deleted records: %d left, want 1", n)
	}
	mine.Store(true)
	for left() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the old record stayed once it was this replica's turn")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
