package metadata

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrFull means the database could not write for want of space: SQLite's
// "database or disk is full", PostgreSQL's disk_full, MySQL's full table
// or disk. The transaction was rolled back whole; writes succeed again once
// space is freed, and reads go on meanwhile.
var ErrFull = errors.New("metadata: the database's disk is full")

// isFull recognises a full disk in each database's own words.
func isFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53100" { // disk_full
		return true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1114 || me.Number == 1021) { // ER_RECORD_FILE_FULL, ER_DISK_FULL
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// full marks err as ErrFull when it is one, keeping the driver's words.
func full(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrFull, op, err)
}
