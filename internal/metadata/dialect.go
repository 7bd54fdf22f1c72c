package metadata

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
)

// dialect is everything that differs between the SQL databases the store
// runs on. Queries elsewhere are written once, with ? placeholders and the
// ON CONFLICT forms built here; migrations spell column types as {{tokens}}
// that the dialect fills in.
type dialect struct {
	name string
	// types fills the {{tokens}} of migration files:
	//   {{id}}   auto-increment 64-bit primary key
	//   {{key}}  indexed text compared and sorted in byte order (names,
	//            tags, digests), at most MaxKeyLength (255) characters:
	//            MySQL and PostgreSQL enforce the limit, and MySQL cannot
	//            index much longer text
	//   {{text}} unindexed text, compared in byte order too
	//   {{blob}} bytes (a 4 MiB manifest must fit)
	types map[string]string
	// rebind turns ? placeholders into the database's own ($1 for
	// PostgreSQL); nil keeps them.
	rebind func(query string) string
	// insertIgnore inserts one row into table, doing nothing when a row with
	// the same key exists. cols and key are comma-separated column lists.
	insertIgnore func(table, cols, key string) string
	// upsert inserts one row into table or, when a row with the same key
	// exists, overwrites the columns in update with the new values.
	upsert func(table, cols, key string, update ...string) string
	// joinLines, when set, aggregates a text column of a query's rows into
	// one value, newline-separated and in byte order of the column: a list
	// of names then comes back as one row, not one row each, which on
	// SQLite is several times faster for a page of a thousand. Nil means
	// the rows are read one by one.
	joinLines func(col string) string
	// forUpdate and forShare end a SELECT that must lock the rows it reads,
	// exclusively or shared, until the transaction ends: garbage collection
	// and a manifest PUT take turns on a blob row this way (see
	// docs/architecture.md, "Garbage collection and concurrent pushes").
	// Empty on SQLite, whose transactions all take the one write lock.
	forUpdate, forShare string

	// schema rewrites one rendered migration statement where the database
	// reads the portable form differently; nil keeps it.
	schema func(stmt string) string
	// lock takes the lock that lets one process at a time migrate the
	// database, on a connection of its own, and returns its release; nil
	// means the database needs none (SQLite's write lock suffices).
	lock func(ctx context.Context, c *sql.Conn) (unlock func(), err error)
	// ddlDone reports a migration statement that failed only because an
	// earlier, interrupted run already did it. Only for databases whose DDL
	// is not transactional (MySQL): elsewhere nil.
	ddlDone func(err error) bool
	// txOptions are the options of every transaction; nil is the default.
	txOptions *sql.TxOptions
	// retryable reports errors after which a whole transaction may simply
	// run again (deadlocks, serialization failures); nil means none.
	retryable func(err error) bool
	// tryLease takes a lease in one statement (TryLease): its arguments
	// are name, holder, expires_at, now; one affected row or more means
	// taken. Empty means the upsert with a condition of SQLite and
	// PostgreSQL (tryLeaseOnConflict).
	tryLease string
}

// tryLeaseOnConflict is TryLease on SQLite and PostgreSQL: the update
// happens only when the lease is free, expired or already the holder's.
const tryLeaseOnConflict = `INSERT INTO gc_leases (name, holder, expires_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE gc_leases.holder = excluded.holder OR gc_leases.holder = '' OR gc_leases.expires_at <= ?`

// sqliteDialect is the embedded default. Every column declared {{key}} uses
// BINARY collation, which is SQLite's default, spelled out so nobody
// "fixes" it to NOCASE: tags and catalogs are sorted in byte order.
var sqliteDialect = dialect{
	name: "sqlite",
	types: map[string]string{
		"{{id}}":   "INTEGER PRIMARY KEY", // the rowid alias, which auto-increments
		"{{key}}":  "TEXT COLLATE BINARY",
		"{{text}}": "TEXT",
		"{{blob}}": "BLOB",
	},
	insertIgnore: onConflictDoNothing,
	upsert:       onConflictDoUpdate,
	joinLines:    func(col string) string { return "group_concat(" + col + ", char(10) ORDER BY " + col + ")" },
}

// onConflictDoNothing is the insert-ignore of SQLite and PostgreSQL.
// MySQL needs INSERT IGNORE instead.
func onConflictDoNothing(table, cols, key string) string {
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO NOTHING",
		table, cols, placeholders(cols), key)
}

// onConflictDoUpdate is the upsert of SQLite and PostgreSQL. MySQL needs
// ON DUPLICATE KEY UPDATE instead.
func onConflictDoUpdate(table, cols, key string, update ...string) string {
	set := make([]string, len(update))
	for i, c := range update {
		set[i] = c + " = excluded." + c
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s",
		table, cols, placeholders(cols), key, strings.Join(set, ", "))
}

// placeholders returns "?, ?, ?" with one ? per column in cols.
func placeholders(cols string) string {
	n := strings.Count(cols, ",") + 1
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// renderSchema fills the type tokens of a migration for d.
func (d *dialect) renderSchema(src string) (string, error) {
	pairs := make([]string, 0, 2*len(d.types))
	for token, typ := range d.types {
		pairs = append(pairs, token, typ)
	}
	out := strings.NewReplacer(pairs...).Replace(src)
	if i := strings.Index(out, "{{"); i >= 0 {
		end := min(i+20, len(out))
		return "", fmt.Errorf("unknown type token near %q", out[i:end])
	}
	return out, nil
}

// sqliteDSN turns a database file path into the driver DSN with the
// settings the store relies on:
//   - WAL, so readers never block the writer and the writer never blocks
//     readers;
//   - synchronous=FULL, so a commit acknowledged to a client survives power
//     loss (NORMAL may lose the last transactions in WAL mode);
//   - foreign keys on, which SQLite leaves off by default;
//   - busy_timeout, so a writer waits for the lock instead of failing;
//   - _txlock=immediate, so every transaction takes the write lock at BEGIN.
//     A deferred transaction that reads and then writes cannot wait for a
//     lock another writer holds (its snapshot would be stale) and fails with
//     SQLITE_BUSY at once, whatever the busy timeout.
func sqliteDSN(path, synchronous string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("metadata: sqlite: empty database path")
	}
	// The store owns the connection settings; a query string in the path
	// could silently turn one of them off.
	if strings.ContainsAny(path, "?") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return "", fmt.Errorf("metadata: sqlite: %q: want a plain file path", path)
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", synchronous)
	q.Set("_foreign_keys", "1")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	// 256 KiB of page cache per connection instead of SQLite's 2 MiB: the
	// operating system caches the file too, and the pools' 12 connections
	// would otherwise hold up to 24 MiB of duplicate pages. Manifest GETs
	// and tag lists measured the same with 512 KiB.
	q.Set("_pragma", fmt.Sprintf("cache_size(-%d)", sqliteCacheKiB))
	return path + "?" + q.Encode(), nil
}

// sqliteCacheKiB is each SQLite connection's page cache (see sqliteDSN).
const sqliteCacheKiB = 256

// system is the database's name in traces (OpenTelemetry's
// db.system.name).
func (d *dialect) system() string {
	if d.name == "postgres" {
		return "postgresql"
	}
	return d.name
}
