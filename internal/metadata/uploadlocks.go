package metadata

import "context"

// Shared reports whether other processes may use this database at the same
// time as replicas (PostgreSQL, MySQL): what one process holds in memory,
// such as the lock of an upload session, must then be held in the database.
// SQLite is one server's (the data directory's lock).
func (s *Store) Shared() bool { return s.d.name != sqliteDialect.name }

// DropLease deletes lease name if holder holds it: for short-lived leases
// (an upload request's), whose rows would otherwise accumulate.
func (s *Store) DropLease(ctx context.Context, name, holder string) error {
	_, err := s.read().exec(ctx, "DELETE FROM gc_leases WHERE name = ? AND holder = ?", name, holder)
	return wrap("drop lease", err)
}
