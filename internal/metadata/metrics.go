package metadata

import "database/sql"

// Stats is the main connection pool's statistics, for the metrics
// (wharf_db_*). SQLite's second pool of unsynced writes is left out: it
// holds one connection and never waits on the first.
func (s *Store) Stats() sql.DBStats { return s.db.Stats() }
