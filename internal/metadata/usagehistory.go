package metadata

import (
	"context"
	"sync"
	"time"
)

// The storage used per namespace changes slowly and counting it reads
// every repository, so its history is kept as one row per namespace and
// UTC day (migration 0022), written the first time a server counts that
// day: the web interface draws its growth from these rows.

// UsageHistoryDays is how long a day's row is kept: a year and a bit, so
// that a year's growth can always be drawn.
const UsageHistoryDays = 400

// dayFormat is how a day is stored: it sorts as it reads.
const dayFormat = time.DateOnly

// UsageDay is the storage of one namespace on one UTC day, or of every
// namespace when Namespace is "".
type UsageDay struct {
	Day          time.Time
	Namespace    string
	Bytes        int64
	Repositories int64
}

// RecordUsage stores stats as day's (its UTC date) unless that day has a
// row for the namespace already: the first count of a day stands, so
// servers sharing the database may all call it and need no lease. It
// prunes the days older than UsageHistoryDays and returns how many rows it
// wrote.
func (s *Store) RecordUsage(ctx context.Context, day time.Time, stats []NamespaceStats) (int, error) {
	for _, n := range stats {
		if err := checkKey("namespace", n.Namespace); err != nil {
			return 0, err
		}
	}
	d := day.UTC().Format(dayFormat)
	oldest := day.UTC().AddDate(0, 0, -UsageHistoryDays).Format(dayFormat)
	now := unixNano(time.Now())
	written := 0
	err := s.inTx(ctx, func(c conn) error {
		written = 0
		insert := c.d.insertIgnore("namespace_usage", "day, namespace, bytes, repositories, recorded_at", "day, namespace")
		for _, n := range stats {
			res, err := c.exec(ctx, insert, d, n.Namespace, n.Bytes, n.Repositories, now)
			if err != nil {
				return err
			}
			if k, err := res.RowsAffected(); err == nil && k > 0 {
				written++
			}
		}
		_, err := c.exec(ctx, "DELETE FROM namespace_usage WHERE day < ?", oldest)
		return err
	})
	return written, wrap("record usage", err)
}

// usageMemo is the UTC day (YYYY-MM-DD) a store last recorded usage for.
type usageMemo struct {
	mu  sync.Mutex
	day string
}

// RecordUsageToday records, through RecordUsage, the stats count gives
// as now's UTC day, unless this store recorded that day already: count
// then is not called and 0 rows are written. The web interface's usage
// page and the server's daily pass both call it, so a day is counted once
// per process whichever comes first.
func (s *Store) RecordUsageToday(ctx context.Context, now time.Time, count func(context.Context) ([]NamespaceStats, error)) (int, error) {
	today := now.UTC().Format(dayFormat)
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	if s.usage.day == today {
		return 0, nil
	}
	stats, err := count(ctx)
	if err != nil {
		return 0, err
	}
	n, err := s.RecordUsage(ctx, now, stats)
	if err != nil {
		return 0, err
	}
	s.usage.day = today
	return n, nil
}

// UsageHistory returns the days from since (its UTC date) on that have a
// row, oldest first: namespace's, or with namespace "" every namespace's
// summed per day.
func (s *Store) UsageHistory(ctx context.Context, namespace string, since time.Time) ([]UsageDay, error) {
	from := since.UTC().Format(dayFormat)
	q, args := `SELECT day, SUM(bytes), SUM(repositories) FROM namespace_usage WHERE day >= ? GROUP BY day ORDER BY day`, []any{from}
	if namespace != "" {
		q, args = `SELECT day, bytes, repositories FROM namespace_usage WHERE day >= ? AND namespace = ? ORDER BY day`, []any{from, namespace}
	}
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap("usage history", err)
	}
	defer rows.Close()
	out := []UsageDay{}
	for rows.Next() {
		var (
			day string
			u   = UsageDay{Namespace: namespace}
		)
		if err := rows.Scan(&day, &u.Bytes, &u.Repositories); err != nil {
			return nil, wrap("usage history", err)
		}
		if u.Day, err = time.Parse(dayFormat, day); err != nil {
			return nil, wrap("usage history", err)
		}
		out = append(out, u)
	}
	return out, wrap("usage history", rows.Err())
}
