package metadata

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// changeWatch tells, on SQLite, whether anything was committed to the
// database file since it last looked, by any connection of this process
// or of another one (a replica on the same file, the wharf CLI). Caches
// that must see every commit at the next request check it first and read
// their own version rows only after it moved.
//
// It reads the two copies of the WAL-index header at the start of the
// -shm file (https://sqlite.org/walformat.html): every write transaction
// changes them (their change counter, frame count and checksums), SQLite
// updates them in the shared mapping when a commit becomes visible, and a
// read of 96 bytes costs one system call where a statement costs a
// hundred times more. Any difference from the last look counts as a
// change, a read torn by a concurrent commit included: a false alarm costs
// a re-read, a missed commit is impossible. Without the -shm file (not
// in WAL mode), it falls back to PRAGMA data_version on a connection of
// its own that never writes.
type changeWatch struct {
	mu   sync.Mutex
	db   *sql.DB // one connection, which also keeps the -shm file open
	stmt *sql.Stmt
	shm  *os.File // nil: PRAGMA data_version
	hdr  [2 * walIndexHeaderSize]byte
	last int64  // data_version at the last look, without shm
	gen  uint64 // counts the looks that found a change
}

// walIndexHeaderSize is the size of one copy of the WAL-index header.
const walIndexHeaderSize = 48

func newChangeWatch(ctx context.Context, path, src string) (*changeWatch, error) {
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
	// A read opens the WAL on this connection, which then holds its
	// shared lock for as long as it lives: the -shm file read below can
	// only be removed by the last connection to close, never while the
	// watch looks at it.
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
		_ = stmt.Close()
		_ = db.Close()
		return nil, fmt.Errorf("metadata: change watch: %w", err)
	}
	w := &changeWatch{db: db, stmt: stmt, gen: 1}
	// SQLite names the -shm file after the database's real path.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		if f, err := os.Open(real + "-shm"); err == nil {
			w.shm = f
		}
	}
	return w, nil
}

// generation returns a number that differs from every earlier answer
// when something was committed since the look that gave that answer.
func (w *changeWatch) generation(ctx context.Context) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shm != nil {
		var hdr [2 * walIndexHeaderSize]byte
		if _, err := w.shm.ReadAt(hdr[:], 0); err != nil {
			return 0, fmt.Errorf("metadata: change watch: %w", err)
		}
		if hdr != w.hdr {
			w.hdr = hdr
			w.gen++
		}
		return w.gen, nil
	}
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
	if w.shm != nil {
		_ = w.shm.Close()
	}
	_ = w.stmt.Close()
	_ = w.db.Close()
}

// ChangeGeneration returns, on SQLite, a number that moves whenever a
// commit to the database, by this process or any other, happened since
// the call that returned the previous one: while it stays, every row reads
// as it did. ok is false on PostgreSQL and MySQL, which have no such
// cheap signal, and gen 0: callers then read their version rows every time.
func (s *Store) ChangeGeneration(ctx context.Context) (gen uint64, ok bool, err error) {
	if s.changes == nil {
		return 0, false, nil
	}
	gen, err = s.changes.generation(ctx)
	return gen, err == nil, err
}
