package metadata

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Shared reports whether other processes may use this database at the same
// time as replicas (PostgreSQL, MySQL): what one process holds in memory,
// such as the lock of an upload session, must then be held in the database.
// SQLite is one server's (the data directory's lock).
func (s *Store) Shared() bool { return s.d.name != sqliteDialect.name }

// TryLease takes lease name for holder until ttl from now, in one
// statement, when nobody holds it, its holder's has expired or holder holds
// it already; false when another holder's lease is current. It is
// AcquireLease for leases taken at every request (an upload's), without a
// transaction's round trips.
func (s *Store) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkKey("lease name", name); err != nil {
		return false, err
	}
	if err := checkKey("lease holder", holder); err != nil {
		return false, err
	}
	q := s.d.tryLease
	if q == "" {
		q = tryLeaseOnConflict
	}
	now := time.Now()
	res, err := s.read().exec(ctx, q, name, holder, unixNano(now.Add(ttl)), unixNano(now))
	if err != nil {
		return false, wrap("try lease", err)
	}
	n, err := res.RowsAffected()
	return n > 0, wrap("try lease", err)
}

// DropLease deletes lease name if holder holds it: for short-lived leases
// (an upload request's), whose rows would otherwise accumulate.
func (s *Store) DropLease(ctx context.Context, name, holder string) error {
	_, err := s.read().exec(ctx, "DELETE FROM gc_leases WHERE name = ? AND holder = ?", name, holder)
	return wrap("drop lease", err)
}

// DropExpiredLeases deletes the expired leases whose name starts with
// prefix ("upload:"), and returns how many. An expired lease protects
// nothing (TryLease takes it over), but its row stays when its holder died
// without DropLease: a server killed during an upload's request leaves
// one, which nothing else would ever remove. prefix is literal and may not
// hold LIKE's wildcards.
func (s *Store) DropExpiredLeases(ctx context.Context, prefix string) (int64, error) {
	if prefix == "" || strings.ContainsAny(prefix, `%_\`) {
		return 0, fmt.Errorf("metadata: drop expired leases: prefix %q is empty or holds %%, _ or \\", prefix)
	}
	res, err := s.read().exec(ctx, "DELETE FROM gc_leases WHERE name LIKE ? AND expires_at <= ?", prefix+"%", unixNano(time.Now()))
	if err != nil {
		return 0, wrap("drop expired leases", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("drop expired leases", err)
}

// KeepLease renews holder's lease name for ttl every ttl/3 until ctx ends.
// When a renewal fails (the lease expired and another holder took it, or
// the database did not answer), it calls lost with the error and returns:
// the holder must stop what the lease protects.
func (s *Store) KeepLease(ctx context.Context, name, holder string, ttl time.Duration, lost func(error)) {
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.RenewLease(ctx, name, holder, ttl); err != nil && ctx.Err() == nil {
				lost(err)
				return
			}
		}
	}
}
