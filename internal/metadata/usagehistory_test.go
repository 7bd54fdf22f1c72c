package metadata_test

import (
	"fmt"
	"path/filepath"
	"sync"
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

// TestUsageHistoryReplicas: servers sharing a database that record the
// same day at the same time write each namespace's row once between them,
// with no error and no lease (PostgreSQL and MariaDB, where they truly
// run at once).
func TestUsageHistoryReplicas(t *testing.T) {
	for _, tc := range []struct{ name, driver string }{{"postgres", "postgres"}, {"mysql", "mysql"}} {
		t.Run(tc.name, func(t *testing.T) {
			var dsn string
			if tc.driver == "postgres" {
				dsn = servers.Postgres(t).NewDatabase(t)
			} else {
				dsn = servers.MariaDB(t).NewDatabase(t)
			}
			var stats []metadata.NamespaceStats
			for i := range 20 {
				stats = append(stats, metadata.NamespaceStats{Namespace: fmt.Sprintf("ns%02d/", i), Bytes: int64(i), Repositories: 1})
			}
			day := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
			const replicas = 4
			written := make([]int, replicas)
			errs := make([]error, replicas)
			stores := make([]*metadata.Store, replicas)
			for i := range stores {
				stores[i] = openServer(t, tc.driver, dsn)
			}
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Go(func() { written[i], errs[i] = s.RecordUsage(t.Context(), day, stats) })
			}
			wg.Wait()
			total := 0
			for i := range replicas {
				if errs[i] != nil {
					t.Errorf("replica %d: %v", i, errs[i])
				}
				total += written[i]
			}
			if total != len(stats) {
				t.Errorf("the replicas wrote %d rows between them (%v), want %d", total, written, len(stats))
			}
			all, err := stores[0].UsageHistory(t.Context(), "", day)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 1 || all[0].Repositories != int64(len(stats)) {
				t.Errorf("the day after the replicas recorded it: %+v", all)
			}
		})
	}
}
