package audit

import (
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/auth/tokenserver"
	"wharf/internal/events"
	"wharf/internal/metadata"
)

// TestFoldAcrossBatches walks a folder through batches a window apart: the
// first pull is written at once, its repeats within the window become one
// row when the window ends (the first repeat's time and request id, their
// count, the last one's time), a loop keeps folding window after window,
// and a quiet window forgets the pull.
func TestFoldAcrossBatches(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	alice, other := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	pull := func(id string, at time.Duration, actor string, addr netip.Addr, tag string) entry {
		return entry{rec: metadata.AuditRecord{Time: t0.Add(at), Action: "pull", Actor: actor, Repository: "app", RequestID: id},
			ev: eventParts{set: true, tag: tag, digest: "sha256:d", size: 1, addr: addr}}
	}
	change := func(id string, at time.Duration) entry {
		return entry{rec: metadata.AuditRecord{Time: t0.Add(at), Action: "user.create", Target: "user bob", RequestID: id}}
	}
	push := pull("push", 0, "alice", alice, "v1")
	push.rec.Action = "push"
	type row struct {
		ID, Addr, Target string
		Count            int64
		Last             time.Duration
	}
	f := newFolder(time.Minute, 100)
	for _, step := range []struct {
		at    time.Duration
		batch []entry
		want  []row
	}{
		{0, []entry{pull("1", 0, "alice", alice, "v1"), pull("2", 1, "alice", alice, "v1"), change("3", 2),
			pull("4", 3, "alice", other, "v1"), // another address: its own row
			pull("5", 4, "bob", alice, "v1"),   // another actor
			pull("6", 5, "alice", alice, "v2"), // another tag
			push,                               // never folded
			pull("7", 6, "alice", alice, "v1")},
			[]row{{"1", "10.0.0.1", "v1@sha256:d", 0, 0}, {"3", "", "user bob", 0, 0}, {"4", "10.0.0.2", "v1@sha256:d", 0, 0},
				{"5", "10.0.0.1", "v1@sha256:d", 0, 0}, {"6", "10.0.0.1", "v2@sha256:d", 0, 0}, {"push", "10.0.0.1", "v1@sha256:d", 0, 0}}},
		{30 * time.Second, []entry{pull("8", 30*time.Second, "alice", alice, "v1")}, nil},
		// The window ends: 2, 7 and 8 are one row; the others had no
		// repeats and are forgotten. 9 is new.
		{time.Minute, []entry{pull("9", time.Minute, "alice", alice, "v3")},
			[]row{{"2", "10.0.0.1", "v1@sha256:d", 3, 30 * time.Second}, {"9", "10.0.0.1", "v3@sha256:d", 0, 0}}},
		// The loop goes on: the next window folds 10 without writing it.
		{90 * time.Second, []entry{pull("10", 90*time.Second, "alice", alice, "v1"), pull("11", 90*time.Second, "alice", other, "v1")},
			[]row{{"11", "10.0.0.2", "v1@sha256:d", 0, 0}}},
		{2 * time.Minute, nil, []row{{"10", "10.0.0.1", "v1@sha256:d", 1, 0}}},
		// A window without a pull forgets it: the next is written at once.
		{3 * time.Minute, []entry{pull("12", 3*time.Minute, "alice", alice, "v1")}, []row{{"12", "10.0.0.1", "v1@sha256:d", 0, 0}}},
	} {
		var got []row
		for _, r := range f.rows(nil, step.batch, t0.Add(step.at)) {
			var last time.Duration
			if !r.Last.IsZero() {
				last = r.Last.Sub(t0)
			}
			got = append(got, row{r.RequestID, r.Addr, r.Target, r.Count, last})
		}
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("rows at %v differ (-want +got):\n%s", step.at, diff)
		}
	}
	// At close, a window that has not ended is written too.
	f.rows(nil, []entry{pull("13", 3*time.Minute+time.Second, "alice", alice, "v1")}, t0.Add(3*time.Minute+time.Second))
	if got := f.all(nil); len(got) != 1 || got[0].RequestID != "13" || got[0].Count != 1 {
		t.Errorf("all() = %+v; want the pending pull 13", got)
	}
	if len(f.m) != 0 || len(f.order) != 0 {
		t.Errorf("all() left %d folds, %d in order", len(f.m), len(f.order))
	}
}

// TestFoldBound checks that a folder holding its most windows writes new
// pulls as they come, repeats included, rather than growing.
func TestFoldBound(t *testing.T) {
	t.Parallel()
	f := newFolder(time.Minute, 2)
	now := time.Now()
	var n int
	for i := range 10 {
		e := entry{rec: metadata.AuditRecord{Action: "pull", RequestID: fmt.Sprint(i)},
			ev: eventParts{set: true, tag: fmt.Sprint("v", i%4)}}
		n += len(f.rows(nil, []entry{e}, now))
	}
	// v0 and v1 are held after their first pull and their repeats fold;
	// v2 and v3 (two pulls each) never are.
	if n != 2+4 || len(f.m) != 2 {
		t.Errorf("wrote %d rows and holds %d windows; want 6 and 2", n, len(f.m))
	}
}

// TestFoldOnlyPulls records the same pull, failed login, login, denial
// and push several times: only the pulls fold, and Close writes the
// repeats whose window has not ended.
func TestFoldOnlyPulls(t *testing.T) {
	t.Parallel()
	st := &memStore{}
	l, err := New(Options{Store: st, Log: slog.New(slog.DiscardHandler), Every: time.Hour, Pulls: PullsAll})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	d := digest.FromString("m")
	for i := range 5 {
		l.Record(&events.Event{Time: time.Now(), Action: events.Pull, Repository: "app", Digest: d, Tag: "v1",
			MediaType: "m", Actor: "alice", Addr: ip, RequestID: fmt.Sprint("pull-", i)})
		l.Record(&events.Event{Time: time.Now(), Action: events.Push, Repository: "app", Digest: d, Tag: "v1",
			MediaType: "m", Actor: "alice", Addr: ip, RequestID: fmt.Sprint("push-", i)})
		l.Login(t.Context(), tokenserver.Login{Account: "alice", IP: ip, Reason: "wrong credentials"})
		l.Login(t.Context(), tokenserver.Login{Account: "alice", IP: ip, OK: true})
		l.Denied(t.Context(), tokenserver.Denial{Account: "alice", IP: ip})
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs, _ := st.snapshot()
	count := map[string]int64{}
	rows := map[string]int{}
	for _, r := range recs {
		rows[r.Action]++
		count[r.Action] += max(r.Count, 1)
		if r.Addr != "192.0.2.1" {
			t.Errorf("%s record has address %q; want 192.0.2.1", r.Action, r.Addr)
		}
	}
	want := map[string]int{"pull": 2, "push": 5, ActionLogin: 5, ActionLoginFailed: 5, ActionTokenDenied: 5}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows per action differ (-want +got):\n%s", diff)
	}
	if count["pull"] != 5 {
		t.Errorf("the pull rows count %d pulls; want 5", count["pull"])
	}
}

// TestFormatterReuse formats entries whose parts change one at a time: a
// string reused from the entry before must never be another entry's.
func TestFormatterReuse(t *testing.T) {
	t.Parallel()
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	parts := []eventParts{
		{set: true, digest: "sha256:a", tag: "v1", mediaType: "m", userAgent: "docker", size: 1, addr: a},
		{set: true, digest: "sha256:a", tag: "v1", mediaType: "m", userAgent: "docker", size: 1, addr: a},
		{set: true, digest: "sha256:b", tag: "v1", mediaType: "m", userAgent: "docker", size: 1, addr: a},
		{set: true, digest: "sha256:b", tag: "", mediaType: "m", userAgent: "docker", size: 2, addr: b},
		{set: true, digest: "sha256:b", tag: "", mediaType: "m", userAgent: "crane", size: 2, addr: b},
		{addr: a}, // a login: no target, no detail
		{set: true, digest: "sha256:b", tag: "", mediaType: "", from: "other", userAgent: "crane", size: 2},
	}
	var f formatter
	for i, p := range parts {
		e := entry{rec: metadata.AuditRecord{Action: "pull"}, ev: p}
		got := f.row(&e)
		fresh := (&entry{rec: e.rec, ev: p}).ev
		wantTarget, wantDetail, wantAddr := "", "", ""
		if p.set {
			wantTarget, wantDetail = fresh.target(), fresh.detail()
		}
		if p.addr.IsValid() {
			wantAddr = p.addr.String()
		}
		if got.Target != wantTarget || got.Detail != wantDetail || got.Addr != wantAddr {
			t.Errorf("entry %d: target %q, detail %q, addr %q; want %q, %q, %q", i, got.Target, got.Detail, got.Addr,
				wantTarget, wantDetail, wantAddr)
		}
	}
}

// TestRecordAllocatesNothing: once the queue's blocks are warm, queueing a
// pull's record allocates nothing on the request's path; its address,
// target and detail are formatted by the writer.
func TestRecordAllocatesNothing(t *testing.T) {
	l, err := New(Options{Store: &memStore{}, Log: slog.New(slog.DiscardHandler), Every: time.Hour, Pulls: PullsManifests})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(t.Context())
	e := &events.Event{Time: time.Now(), Action: events.Pull, Repository: "app", Digest: digest.FromString("m"), Tag: "v1",
		MediaType: "m", Actor: "alice", Addr: netip.MustParseAddr("192.0.2.1"), RequestID: "r", UserAgent: "docker/27"}
	warm := func() {
		for range 2 * blockSize {
			l.Record(e)
		}
		l.mu.Lock()
		l.taken = l.q.take(l.taken[:0], 2*blockSize)
		clear(l.taken)
		l.mu.Unlock()
	}
	warm()
	if n := testing.AllocsPerRun(100, func() { l.Record(e) }); n != 0 {
		t.Errorf("queueing a pull's record allocates %v times; want none", n)
	}
	if l.queued() == 0 {
		t.Error("nothing was queued")
	}
}
