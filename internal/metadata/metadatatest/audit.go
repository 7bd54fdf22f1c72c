package metadatatest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/metadata"
)

// auditFixture inserts n records one second apart from created, cycling
// through three actors, two repositories and two actions, in one batch
// (more than one INSERT chunk, plus single rows).
func auditFixture(t *testing.T, s *metadata.Store, n int) []metadata.AuditRecord {
	t.Helper()
	recs := make([]metadata.AuditRecord, n)
	for i := range recs {
		recs[i] = metadata.AuditRecord{
			Time:       created.Add(time.Duration(i) * time.Second),
			Action:     []string{"push", "pull"}[i%2],
			Actor:      []string{"alice", "bob", "carol"}[i%3],
			Source:     "static",
			Addr:       "127.0.0.1",
			RequestID:  fmt.Sprintf("req-%d", i),
			Repository: []string{"team/app", "team/db"}[i%2],
			Target:     fmt.Sprintf("sha256:%064d", i),
			Outcome:    "ok",
			Detail:     fmt.Sprintf(`{"i":%d}`, i),
		}
	}
	if err := s.InsertAudit(t.Context(), recs); err != nil {
		t.Fatalf("InsertAudit(%d records): %v", n, err)
	}
	return recs
}

// auditIDs lists the request ids of recs, which name the fixture's records.
func auditIDs(recs []metadata.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.RequestID
	}
	return out
}

func testAuditInsertList(t *testing.T, s *metadata.Store) {
	recs := auditFixture(t, s, 123)
	got, next, err := s.ListAudit(t.Context(), metadata.AuditQuery{Limit: 1})
	if err != nil || next == "" || len(got) != 1 {
		t.Fatalf("ListAudit(limit 1) = %d records, next %q, %v; want 1 and a cursor", len(got), next, err)
	}
	want := recs[len(recs)-1]
	want.ID, want.Count = got[0].ID, 1 // a record of one event reads back as count 1
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("newest record differs (-want +got):\n%s", diff)
	}
	// Hostile input is stored, cut to what every database keeps.
	long := strings.Repeat("é", metadata.MaxKeyLength)
	err = s.InsertAudit(t.Context(), []metadata.AuditRecord{{Time: created.Add(time.Hour), Action: "login.failed",
		Actor: long + "\x00\xff", Outcome: "failed"}})
	if err != nil {
		t.Fatalf("InsertAudit(long, NUL and invalid UTF-8 actor): %v", err)
	}
	got, _, err = s.ListAudit(t.Context(), metadata.AuditQuery{Action: "login.failed"})
	if err != nil || len(got) != 1 || len(got[0].Actor) > metadata.MaxKeyLength || !strings.HasPrefix(long, got[0].Actor) {
		t.Fatalf("ListAudit(login.failed) = %+v, %v; want the actor cut to %d bytes of é", got, err, metadata.MaxKeyLength)
	}
}

func testAuditFilters(t *testing.T, s *metadata.Store) {
	recs := auditFixture(t, s, 60)
	at := func(i int) time.Time { return recs[i].Time }
	for _, tc := range []struct {
		name string
		q    metadata.AuditQuery
		want func(i int) bool
	}{
		{"actor", metadata.AuditQuery{Actor: "bob"}, func(i int) bool { return i%3 == 1 }},
		{"repository", metadata.AuditQuery{Repository: "team/db"}, func(i int) bool { return i%2 == 1 }},
		{"action", metadata.AuditQuery{Action: "push"}, func(i int) bool { return i%2 == 0 }},
		{"actor and action", metadata.AuditQuery{Actor: "alice", Action: "pull"}, func(i int) bool { return i%3 == 0 && i%2 == 1 }},
		{"since until", metadata.AuditQuery{Since: at(10), Until: at(20)}, func(i int) bool { return i >= 10 && i < 20 }},
		{"unknown actor", metadata.AuditQuery{Actor: "mallory"}, func(int) bool { return false }},
	} {
		want := []string{}
		for i := len(recs) - 1; i >= 0; i-- {
			if tc.want(i) {
				want = append(want, recs[i].RequestID)
			}
		}
		q := tc.q
		q.Limit = 1000
		got, next, err := s.ListAudit(t.Context(), q)
		if err != nil || next != "" {
			t.Errorf("%s: ListAudit: next %q, %v", tc.name, next, err)
			continue
		}
		if diff := cmp.Diff(want, auditIDs(got)); diff != "" {
			t.Errorf("%s: records newest first differ (-want +got):\n%s", tc.name, diff)
		}
	}
}

func testAuditCursor(t *testing.T, s *metadata.Store) {
	recs := auditFixture(t, s, 25)
	// Two records at one instant: the cursor must not lose either.
	same := []metadata.AuditRecord{{Time: created.Add(time.Hour), Action: "push", RequestID: "same-1"},
		{Time: created.Add(time.Hour), Action: "push", RequestID: "same-2"}}
	if err := s.InsertAudit(t.Context(), same); err != nil {
		t.Fatal(err)
	}
	var all []string
	cursor, pages := "", 0
	for {
		got, next, err := s.ListAudit(t.Context(), metadata.AuditQuery{Cursor: cursor, Limit: 4})
		if err != nil {
			t.Fatalf("ListAudit page %d: %v", pages, err)
		}
		all = append(all, auditIDs(got)...)
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	want := []string{"same-2", "same-1"}
	for i := len(recs) - 1; i >= 0; i-- {
		want = append(want, recs[i].RequestID)
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("paged listing differs (-want +got):\n%s", diff)
	}
	if pages != 7 {
		t.Errorf("27 records in pages of 4 took %d pages; want 7", pages)
	}
	_, _, err := s.ListAudit(t.Context(), metadata.AuditQuery{Cursor: "nope"})
	wantErr(t, "ListAudit(bad cursor)", err, metadata.ErrBadCursor)
}

func testAuditRetention(t *testing.T, s *metadata.Store) {
	recs := auditFixture(t, s, 30)
	ctx := t.Context()
	cut := recs[23].Time // records 0..22 are older
	deleted, batches := 0, 0
	for {
		n, err := s.DeleteAuditBefore(ctx, cut, 10)
		if err != nil {
			t.Fatalf("DeleteAuditBefore: %v", err)
		}
		if n > 10 {
			t.Fatalf("DeleteAuditBefore(max 10) deleted %d", n)
		}
		deleted += n
		batches++
		if n < 10 {
			break
		}
	}
	if deleted != 23 || batches != 3 {
		t.Errorf("deleted %d records in %d batches; want 23 in 3", deleted, batches)
	}
	got, _, err := s.ListAudit(ctx, metadata.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(auditIDs(reverse(recs[23:])), auditIDs(got)); diff != "" {
		t.Errorf("records kept differ (-want +got):\n%s", diff)
	}
}

func reverse(recs []metadata.AuditRecord) []metadata.AuditRecord {
	out := make([]metadata.AuditRecord, len(recs))
	for i, r := range recs {
		out[len(recs)-1-i] = r
	}
	return out
}

// testAuditBatches writes batches the size of no power of two, one of them
// larger than two statements' share of the parameters (SQLite's default
// limit is 32766: 2730 rows of 12 columns, and a power of two of them 2048),
// so that the split into statements and the folded rows' count and last
// time round-trip on every database.
func testAuditBatches(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	const n = 4200
	recs := make([]metadata.AuditRecord, n)
	for i := range recs {
		recs[i] = metadata.AuditRecord{Time: created.Add(time.Duration(i) * time.Millisecond), Action: "pull",
			Actor: "alice", Addr: fmt.Sprintf("10.0.%d.%d", i/256, i%256), RequestID: fmt.Sprintf("req-%d", i),
			Repository: "team/app", Target: "v1", Outcome: "ok"}
		if i%7 == 0 {
			recs[i].Count, recs[i].Last = int64(i+2), recs[i].Time.Add(time.Minute)
		}
	}
	for _, size := range []int{4100, 95, 5} { // 2048+2048+4, 64+16+8+4+2+1, 4+1 rows
		if err := s.InsertAudit(ctx, recs[:size]); err != nil {
			t.Fatalf("InsertAudit(%d records): %v", size, err)
		}
		recs = recs[size:]
	}
	var got []metadata.AuditRecord
	for cursor := ""; ; {
		page, next, err := s.ListAudit(ctx, metadata.AuditQuery{Cursor: cursor, Limit: 1000})
		if err != nil {
			t.Fatalf("ListAudit: %v", err)
		}
		got = append(got, page...)
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(got) != n {
		t.Fatalf("listed %d records; want %d", len(got), n)
	}
	for j, r := range got {
		i := n - 1 - j
		wantCount, wantLast := int64(1), time.Time{}
		at := created.Add(time.Duration(i) * time.Millisecond)
		if i%7 == 0 {
			wantCount, wantLast = int64(i+2), at.Add(time.Minute)
		}
		if r.RequestID != fmt.Sprintf("req-%d", i) || !r.Time.Equal(at) || r.Count != wantCount || !r.Last.Equal(wantLast) {
			t.Fatalf("record %d = %s at %v count %d last %v; want req-%d at %v count %d last %v",
				j, r.RequestID, r.Time, r.Count, r.Last, i, at, wantCount, wantLast)
		}
	}
}
