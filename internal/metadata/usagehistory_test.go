package metadata_test

import (
	"path/filepath"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// TestUsageHistory: a day's usage is recorded once per namespace (the
// first count stands, a second changes nothing), read back per namespace
// or summed per day, oldest first, and days older than UsageHistoryDays
// are pruned — on SQLite, PostgreSQL and MariaDB alike.
func TestUsageHistory(t *testing.T) { eachDatabase(t, testUsageHistory) }

// eachDatabase runs test on a new database of each kind the store runs on.
func eachDatabase(t *testing.T, test func(*testing.T, *metadata.Store)) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *metadata.Store
	}{
		{"sqlite", func(t *testing.T) *metadata.Store { return openSQLite(t, filepath.Join(t.TempDir(), "meta.db")) }},
		{"postgres", func(t *testing.T) *metadata.Store {
			return openServer(t, "postgres", servers.Postgres(t).NewDatabase(t))
		}},
		{"mysql", func(t *testing.T) *metadata.Store { return openServer(t, "mysql", servers.MariaDB(t).NewDatabase(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) { test(t, tc.open(t)) })
	}
}

func testUsageHistory(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	record := func(day time.Time, want int, stats ...metadata.NamespaceStats) {
		t.Helper()
		n, err := s.RecordUsage(ctx, day, stats)
		if err != nil {
			t.Fatalf("RecordUsage(%s): %v", day.Format(time.DateOnly), err)
		}
		if n != want {
			t.Errorf("RecordUsage(%s) wrote %d rows, want %d", day.Format(time.DateOnly), n, want)
		}
	}
	for i := range 3 {
		record(day0.AddDate(0, 0, i).Add(13*time.Hour), 2,
			metadata.NamespaceStats{Namespace: "team/", Bytes: int64(100 * (i + 1)), Repositories: int64(i + 1)},
			metadata.NamespaceStats{Namespace: "solo", Bytes: 10, Repositories: 1})
	}
	// The same day again, later and with other figures: the first stands.
	record(day0.Add(23*time.Hour), 0, metadata.NamespaceStats{Namespace: "team/", Bytes: 999, Repositories: 9})

	team, err := s.UsageHistory(ctx, "team/", day0)
	if err != nil {
		t.Fatal(err)
	}
	if len(team) != 3 {
		t.Fatalf("team/ has %d days, want 3: %+v", len(team), team)
	}
	for i, d := range team {
		if !d.Day.Equal(day0.AddDate(0, 0, i)) || d.Bytes != int64(100*(i+1)) || d.Repositories != int64(i+1) {
			t.Errorf("team/ day %d: %+v", i, d)
		}
	}
	all, err := s.UsageHistory(ctx, "", day0.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Bytes != 210 || all[0].Repositories != 3 || all[1].Bytes != 310 {
		t.Errorf("every namespace from the second day: %+v", all)
	}

	// A day UsageHistoryDays after the first prunes it.
	record(day0.AddDate(0, 0, metadata.UsageHistoryDays+1), 1, metadata.NamespaceStats{Namespace: "team/", Bytes: 1, Repositories: 1})
	team, err = s.UsageHistory(ctx, "team/", day0)
	if err != nil {
		t.Fatal(err)
	}
	if len(team) != 3 || !team[0].Day.Equal(day0.AddDate(0, 0, 1)) {
		t.Errorf("after pruning, team/ has %+v; want the second and third days and the new one", team)
	}
	if _, err := s.RecordUsage(ctx, day0, []metadata.NamespaceStats{{Namespace: "bad\nname"}}); err == nil {
		t.Error("a namespace with a newline was recorded")
	}
}
