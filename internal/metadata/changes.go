package metadata

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// changeWatch tells, on SQLite, whether anything was committed to the
// database file since it last looked, by any connection of this process
// or of another one (a replica on the same file, the wharf CLI): PRAGMA
// data_version on a connection of its own that never writes, which SQLite
// answers from the WAL index without reading a table. Caches that must
// see every commit at the next request check it first and read their own
// version rows only after it moved.
type changeWatch struct {
	mu   sync.Mutex
	db   *sql.DB // one connection
	stmt *sql.Stmt
	last int64  // data_version at the last look
	gen  uint64 // counts the looks that found it moved
}

func newChangeWatch(ctx context.Context, src string) (*changeWatch, error) {
	db, err := sql.Open("sqlite", src)
	if err != nil {
		return nil, fmt.Errorf("metadata: change watch: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	stmt, err := db.PrepareContext(ctx, "PRAGMA data_version")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("metadata: change watch: %w", err)
	}
	return &changeWatch{db: db, stmt: stmt, gen: 1}, nil
}

// generation returns a number that differs from every earlier answer
// when something was committed since the look that gave that answer.
func (w *changeWatch) generation(ctx context.Context) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var v int64
	if err := w.stmt.QueryRowContext(ctx).Scan(&v); err != nil {
		return 0, fmt.Errorf("metadata: data version: %w", err)
	}
	if v != w.last {
		w.last = v
		w.gen++
	}
	return w.gen, nil
}

func (w *changeWatch) close() {
	_ = w.stmt.Close()
	_ = w.db.Close()
}

// ChangeGeneration returns, on SQLite, a number that moves whenever a
// commit to the database, by this process or any other, happened since
// the call that returned the previous one: while it stays, every row reads
// as it did. ok is false on PostgreSQL and MySQL, which have no such
// cheap signal: callers then read their version rows every time.
func (s *Store) ChangeGeneration(ctx context.Context) (gen uint64, ok bool, err error) {
	if s.changes == nil {
		return 0, false, nil
	}
	gen, err = s.changes.generation(ctx)
	return gen, err == nil, err
}
