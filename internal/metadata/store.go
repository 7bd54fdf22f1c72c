package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"wharf/internal/spans"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Store is the SQL metadata store. It is safe for concurrent use; every
// change that must be atomic runs in one transaction.
type Store struct {
	db    *sql.DB
	d     *dialect
	log   *slog.Logger
	stmts *stmtCache
	tags  *tagCache
	// lazy, on SQLite, is a second pool on the same file with
	// synchronous=NORMAL: its commits are not fsynced (the next commit of
	// the main pool, or a checkpoint, makes them durable with its own). It
	// is for records whose loss in a power cut costs a retry and never
	// acknowledged content: a new upload session. Nil elsewhere.
	lazy *sql.DB
	// batch records finished uploads in shared transactions.
	batch *commitBatcher
	// pulls keeps pull times in memory until their next flush.
	pulls *pullRecorder
	// guard says which tags may not move (SetTagGuard).
	guard *atomic.Pointer[TagGuard]
	// writer, on SQLite, admits one writing statement or transaction of
	// this process at a time (nil elsewhere); see writerGate.
	writer writerGate
	// chunk, when positive, replaces maxInList (tests of the chunked
	// size queries).
	chunk int
	// usage remembers the UTC day RecordUsageToday last recorded.
	usage *usageMemo
	// changes, on SQLite, watches for commits (ChangeGeneration); nil
	// elsewhere.
	changes *changeWatch
}

// maxSQLiteConns bounds the connections to a SQLite file: two per core the
// process may use, at least 4. Reads are short and use the CPU, so more
// connections than that only queue (on 2 cores, 4 connections serve 64
// concurrent manifest GETs and 8 concurrent pushes as fast as 8 or 16
// do), and each connection keeps its own page cache and prepared
// statements: 8 instead of 4 held about 3 MiB more after a burst of pushes.
func maxSQLiteConns() int {
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// Open connects to the database, applies pending migrations and returns the
// store. driver is one of:
//
//   - "sqlite": dsn is the path of the database file, created with mode
//     0600 when missing (its parent directory is not); an existing file
//     open to group or others is restricted to its owner;
//   - "postgres": dsn is a postgres:// URL or libpq key=value pairs
//     (PostgreSQL 13 or newer);
//   - "mysql": dsn is go-sql-driver's user:password@tcp(host:3306)/database
//     (MySQL 8.0 or newer, MariaDB 10.2 or newer).
//
// A DSN may carry a password: no error or log line of the store quotes it.
// Several processes may open one PostgreSQL or MySQL database at once; they
// take turns to migrate it.
func Open(ctx context.Context, driver, dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		d   *dialect
		db  *sql.DB
		err error
	)
	switch driver {
	case "sqlite":
		d = &sqliteDialect
		var src string
		if src, err = sqliteDSN(dsn, "FULL"); err == nil {
			err = prepareSQLiteFile(dsn, log.With("component", "metadata"))
		}
		if err == nil {
			db, err = sql.Open("sqlite", src)
		}
	case "postgres":
		d = &postgresDialect
		db, err = openPostgres(dsn)
	case "mysql":
		db, err = openMySQL(dsn)
	default:
		return nil, fmt.Errorf("metadata: unsupported database driver %q (want sqlite, postgres or mysql)", driver)
	}
	if err != nil {
		return nil, err
	}
	if driver == "sqlite" {
		// A bounded pool whose connections all stay open: database/sql
		// keeps only 2 idle by default, so under concurrent requests it
		// would close and reopen connections all the time, and every new
		// SQLite connection parses the whole schema again (profiles showed
		// most of a manifest GET's CPU there). Past the bound, queries wait
		// for a connection.
		n := maxSQLiteConns()
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(n)
	} else {
		// Bounded, so that a busy registry cannot use up the server's
		// connections (PostgreSQL allows 100 by default, MySQL 151), and
		// recycled, so that a server restart or failover is picked up.
		db.SetMaxOpenConns(maxOpenConns)
		db.SetMaxIdleConns(maxOpenConns / 2)
		db.SetConnMaxIdleTime(5 * time.Minute)
		db.SetConnMaxLifetime(time.Hour)
	}
	if driver == "mysql" {
		collation, err := mysqlCollation(ctx, db)
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("metadata: mysql: %w", err)
		}
		d = mysqlDialect(collation)
	}
	s := &Store{db: db, d: d, stmts: newStmtCache(db), tags: newTagCache(), usage: new(usageMemo), log: log.With("component", "metadata", "driver", driver),
		guard: new(atomic.Pointer[TagGuard])}
	if driver == "sqlite" {
		s.writer = newWriterGate()
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	if driver == "sqlite" {
		src, _ := sqliteDSN(dsn, "NORMAL") // validated above
		if s.lazy, err = sql.Open("sqlite", src); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("metadata: open %s: %w", driver, err)
		}
		s.lazy.SetMaxOpenConns(4)
		s.lazy.SetMaxIdleConns(4)
		if s.changes, err = newChangeWatch(ctx, dsn, src); err != nil {
			_ = s.lazy.Close()
			_ = db.Close()
			return nil, err
		}
	}
	s.batch = newCommitBatcher(s)
	s.pulls = newPullRecorder(s)
	return s, nil
}

// maxOpenConns bounds the connections to a PostgreSQL or MySQL server.
const maxOpenConns = 32

// Close closes the database.
func (s *Store) Close() error {
	s.pulls.close()
	s.batch.close()
	s.stmts.close()
	if s.lazy != nil {
		_ = s.lazy.Close()
	}
	if s.changes != nil {
		s.changes.close()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("metadata: close: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("metadata: ping: %w", err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs queries written with ? placeholders through the dialect, so a
// method cannot forget to rebind one, as prepared statements from the
// store's cache.
type conn struct {
	q     querier
	d     *dialect
	stmts *stmtCache
	tx    *sql.Tx // nil outside a transaction
	// s is set outside transactions: a single statement the database
	// aborted to break a deadlock runs again.
	s *Store
}

func (c conn) rebind(query string) string {
	if c.d.rebind == nil {
		return query
	}
	return c.d.rebind(query)
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = c.rebind(query)
	if c.s != nil { // outside a transaction: the statement writes alone
		if err := c.s.writer.enter(ctx); err != nil {
			return nil, err
		}
		defer c.s.writer.leave()
	}
	for attempt := 1; ; attempt++ {
		var (
			res sql.Result
			err error
		)
		if st := c.stmt(ctx, query); st != nil {
			res, err = st.ExecContext(ctx, args...)
		} else {
			res, err = c.q.ExecContext(ctx, query, args...)
		}
		if err == nil || c.s == nil || !c.s.retry(ctx, attempt, err) {
			return res, err
		}
	}
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q := c.rebind(query)
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, q, args...)
}

func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	q := c.rebind(query)
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, q, args...)
}

// stmt returns the cached prepared statement for q, bound to the
// transaction when there is one (database/sql then reuses the statement
// already prepared on the transaction's connection), or nil when q cannot
// be cached; the caller then runs q directly, which reports any error.
func (c conn) stmt(ctx context.Context, q string) *sql.Stmt {
	switch {
	case c.stmts == nil:
		return nil
	case c.tx != nil:
		// Only a statement prepared already: preparing a new one takes a
		// connection from the pool, and a transaction holding the write
		// lock must never wait for the pool, whose connections may all be
		// waiting for that lock.
		if st := c.stmts.lookup(q); st != nil {
			return c.tx.StmtContext(ctx, st)
		}
		return nil
	}
	return c.stmts.get(ctx, q)
}

// lazyWrite returns a conn for single statements whose commit need not be
// durable at once (see Store.lazy).
func (s *Store) lazyWrite() conn {
	if s.lazy == nil {
		return s.read()
	}
	return conn{q: s.lazy, d: s.d, s: s}
}

// read returns a conn for statements outside a transaction.
func (s *Store) read() conn { return conn{q: s.db, d: s.d, stmts: s.stmts, s: s} }

// inTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise. fn must use only the conn it is given: a query on s.db
// would wait for the write lock this transaction holds. A transaction the
// database aborted to break a deadlock runs again, so fn must not keep
// state between calls other than what it recomputes.
//
// In a traced request it is a child span, "db" and the exported method it
// serves, with the database and the attempts it took.
func (s *Store) inTx(ctx context.Context, fn func(c conn) error) (err error) {
	ctx, span := spans.Start(ctx, "db transaction")
	attempt := 1
	if span.Recording() {
		span.SetName(spans.Name("db", spans.Exported(), "db transaction"))
		span.SetString("db.system.name", s.d.system())
		defer func() {
			span.SetInt("wharf.db.attempts", int64(attempt))
			span.End(err)
		}()
	}
	for ; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || !s.retry(ctx, attempt, err) {
			return err
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(c conn) error) error {
	if err := s.writer.enter(ctx); err != nil {
		return err
	}
	defer s.writer.leave()
	tx, err := s.db.BeginTx(ctx, s.d.txOptions)
	if err != nil {
		return err
	}
	if err := fn(conn{q: tx, d: s.d, stmts: s.stmts, tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// maxAttempts bounds how often a statement or transaction is run again
// after a deadlock.
const maxAttempts = 10

// retry reports whether to run a statement or transaction again after err,
// waiting a little (more after each attempt, with jitter so that the
// writers that collided do not collide again) before it returns true.
func (s *Store) retry(ctx context.Context, attempt int, err error) bool {
	if attempt >= maxAttempts || s.d.retryable == nil || !s.d.retryable(err) {
		return false
	}
	s.log.DebugContext(ctx, "retrying after a transient database error", "attempt", attempt, "err", err)
	wait := time.Duration(attempt) * time.Millisecond * time.Duration(1+rand.IntN(10))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ensureRepo creates the repository row if needed and returns its id.
func ensureRepo(ctx context.Context, c conn, repo string) (int64, error) {
	if repo == "" {
		return 0, errors.New("empty repository name")
	}
	if err := checkKey("repository name", repo); err != nil {
		return 0, err
	}
	if _, err := c.exec(ctx, c.d.insertIgnore("repositories", "name, created_at", "name"),
		repo, unixNano(time.Now())); err != nil {
		return 0, err
	}
	var id int64
	err := c.queryRow(ctx, "SELECT id FROM repositories WHERE name = ?", repo).Scan(&id)
	return id, err
}

// repoID returns the id of an existing repository, or ErrNotFound.
func repoID(ctx context.Context, c conn, repo string) (int64, error) {
	var id int64
	err := c.queryRow(ctx, "SELECT id FROM repositories WHERE name = ?", repo).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id, err
}

// affectedOne turns a statement result that touched no row into ErrNotFound.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// notFound maps sql.ErrNoRows to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Times are stored as Unix nanoseconds in BIGINT columns: the same on every
// database, with no driver-specific time parsing.
func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromUnixNano(n int64) time.Time { return time.Unix(0, n).UTC() }

// limit turns the "n <= 0 means all" convention into a LIMIT argument every
// database accepts.
func limit(n int) int64 {
	if n <= 0 {
		return 1<<63 - 1
	}
	return int64(n)
}

// wrap adds the operation to unexpected errors. The store's own sentinels
// already say "metadata: …" and pass through unchanged.
func wrap(op string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrMissingReference) || errors.Is(err, ErrInvalidKey) ||
		errors.Is(err, ErrFull) {
		return err
	}
	if isFull(err) {
		return full(op, err)
	}
	return fmt.Errorf("metadata: %s: %w", op, err)
}

// SchemaVersion returns the version of the newest migration applied to the
// database.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.read().queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v)
	return v, wrap("schema version", err)
}
