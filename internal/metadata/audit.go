package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// AuditRecord is one row of the audit log: who did what, when, from where.
// The store keeps what it is given; the audit package decides what goes in
// (and keeps secrets out).
type AuditRecord struct {
	// ID orders records written at the same instant; set by the store.
	ID   int64
	Time time.Time
	// Action names what happened ("push", "login.failed", "user.create").
	Action string
	// Actor is the account that acted, or the name a failed login gave.
	Actor string
	// Source is the backend or interface the actor came through ("ldap",
	// "cli", "adminapi").
	Source string
	// Addr is the client's address, RequestID the request's id.
	Addr, RequestID string
	// Repository is the repository acted on, when there is one: it is kept
	// apart from Target so that listings filter on it.
	Repository string
	// Target is the object acted on: a digest, a tag, an account object.
	Target string
	// Outcome is "ok", "denied" or "failed".
	Outcome string
	// Detail is a short JSON object ("" for none).
	Detail string
	// Count is how many identical events the row stands for (0 or 1: one):
	// pulls folded into one row. Time is then the first one's and Last the
	// last one's; Last is zero for a row of one event.
	Count int64
	Last  time.Time
}

// AuditQuery selects audit records. Zero fields select everything.
type AuditQuery struct {
	Actor, Repository, Action string
	// Since and Until bound the records' times: Since <= t < Until.
	Since, Until time.Time
	// Cursor continues a listing where the page it came from ended.
	Cursor string
	// Limit caps the page; <= 0 means DefaultAuditLimit.
	Limit int
}

// DefaultAuditLimit is the page size of an AuditQuery without a limit.
const DefaultAuditLimit = 100

// auditCols are the columns InsertAudit writes, in auditArgs' order.
const auditCols = `at, action, actor, source, addr, request_id, repository, target, outcome, detail, count, last_at`

// auditNumCols is how many columns auditCols names.
const auditNumCols = 12

// auditMaxParams is the fewest bind parameters one statement may carry
// among the databases Wharf runs on: SQLite's default limit (PostgreSQL and
// MySQL allow 65535).
const auditMaxParams = 32766

// auditMaxRows is the most rows one INSERT writes: the largest power of two
// whose parameters fit auditMaxParams (2048 rows, 24576 parameters).
var auditMaxRows = func() int {
	n := 1
	for 2*n*auditNumCols <= auditMaxParams {
		n *= 2
	}
	return n
}()

// auditInsert is the INSERT of a power of two records.
var auditInsert = newMultiRowInsert("audit_log", auditCols, "("+placeholders(auditCols)+")")

// auditSplit returns the size of the next INSERT for n rows: the largest
// power of two not above n or auditMaxRows. A batch of n rows then takes
// one statement per bit of n (one for a full batch of a power of two),
// and the statement cache holds at most one text per power of two, each
// parsed once: preparing a statement of thousands of placeholders costs
// more than the rows it writes.
func auditSplit(n int) int { return powerOfTwoAtMost(n, auditMaxRows) }

// InsertAudit writes records, all or none. Key fields longer than
// MaxKeyLength are cut and invalid UTF-8 or NUL bytes replaced, so that a
// hostile name in a failed login is recorded rather than refused. A record
// whose Count is 0 counts as one. PostgreSQL takes them in one COPY, the
// others in INSERTs of a power of two rows each (auditSplit).
func (s *Store) InsertAudit(ctx context.Context, recs []AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if s.d.name == postgresDialect.name {
		return wrap("insert audit", s.copyAudit(ctx, recs))
	}
	// Prepared outside the transaction, which only looks statements up
	// (see conn.stmt).
	r := s.read()
	for rest := len(recs); rest > 0; {
		n := auditSplit(rest)
		r.stmt(ctx, auditInsert.text(r, n))
		rest -= n
	}
	args := make([]any, 0, auditNumCols*auditSplit(len(recs)))
	write := func(c conn) error {
		var boxed auditBoxes
		for rest := recs; len(rest) > 0; {
			n := auditSplit(len(rest))
			if _, err := c.exec(ctx, auditInsert.text(c, n), boxed.args(args[:0], rest[:n])...); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	}
	if auditSplit(len(recs)) == len(recs) { // one statement: atomic alone
		return wrap("insert audit", write(r))
	}
	return wrap("insert audit", s.inTx(ctx, write))
}

// auditColumns are auditCols one by one, for COPY.
var auditColumns = strings.Split(strings.ReplaceAll(auditCols, " ", ""), ",")

// copyAudit writes recs with PostgreSQL's COPY, one statement for any
// number of rows: pgx then encodes the values in binary, rather than
// binding thousands of placeholders, which cost this process more than
// the database server its inserts.
func (s *Store) copyAudit(ctx context.Context, recs []AuditRecord) error {
	for attempt := 1; ; attempt++ {
		err := s.copyAuditOnce(ctx, recs)
		if err == nil || !s.retry(ctx, attempt, err) {
			return err
		}
	}
}

func (s *Store) copyAuditOnce(ctx context.Context, recs []AuditRecord) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("metadata: a PostgreSQL connection is a %T, not pgx's", dc)
		}
		src := &auditSource{recs: recs, i: -1, now: time.Now(), row: make([]any, 0, auditNumCols)}
		_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{"audit_log"}, auditColumns, src)
		return err
	})
}

// auditSource hands recs to COPY a row at a time (pgx.CopyFromSource).
type auditSource struct {
	recs  []AuditRecord
	i     int
	now   time.Time
	row   []any // reused: pgx encodes a row before it asks for the next
	boxed auditBoxes
}

func (a *auditSource) Next() bool { a.i++; return a.i < len(a.recs) }

func (a *auditSource) Values() ([]any, error) {
	return a.boxed.appendRow(a.row[:0], &a.recs[a.i], a.now), nil
}

func (a *auditSource) Err() error { return nil }

// auditBoxes keeps, for each text column, the last value put in an
// interface: rows of a batch repeat their action, source, outcome, often
// their actor, repository and target, and each new interface holding a
// string is an allocation (the parameters of 512 rows made 5000).
type auditBoxes [auditNumCols]struct {
	s string
	v any
}

func (b *auditBoxes) box(col int, s string) any {
	c := &b[col]
	if c.v == nil || c.s != s {
		c.s, c.v = s, s
	}
	return c.v
}

// args appends the parameters of recs to args.
func (b *auditBoxes) args(args []any, recs []AuditRecord) []any {
	now := time.Now()
	for i := range recs {
		args = b.appendRow(args, &recs[i], now)
	}
	return args
}

// appendRow appends r's values in auditCols' order; a record without a
// time is now.
func (b *auditBoxes) appendRow(args []any, r *AuditRecord, now time.Time) []any {
	t := r.Time
	if t.IsZero() {
		t = now
	}
	count, last := max(r.Count, 1), int64(0)
	if !r.Last.IsZero() {
		last = unixNano(r.Last)
	}
	return append(args, unixNano(t), b.box(1, auditKey(r.Action)), b.box(2, auditKey(r.Actor)),
		b.box(3, auditKey(r.Source)), b.box(4, auditKey(r.Addr)), auditKey(r.RequestID),
		b.box(6, auditKey(r.Repository)), b.box(7, auditText(r.Target, 4096)), b.box(8, auditKey(r.Outcome)),
		b.box(9, auditText(r.Detail, 4096)), count, last)
}

func auditKey(v string) string { return auditText(v, MaxKeyLength) }

// auditText makes v storable in a text column of every database: valid
// UTF-8 without NUL, at most max bytes, cut at a character boundary.
func auditText(v string, max int) string {
	v = strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "\uFFFD")
	if len(v) <= max {
		return v
	}
	v = v[:max]
	for len(v) > 0 && !utf8.ValidString(v) {
		v = v[:len(v)-1]
	}
	return v
}

// ErrBadCursor means an audit cursor that no listing returned.
var ErrBadCursor = errors.New("metadata: invalid audit cursor")

// ListAudit returns the records q selects, newest first, and the cursor of
// the next page ("" when this page is the last).
func (s *Store) ListAudit(ctx context.Context, q AuditQuery) ([]AuditRecord, string, error) {
	n := q.Limit
	if n <= 0 {
		n = DefaultAuditLimit
	}
	until := int64(1<<63 - 1)
	if !q.Until.IsZero() {
		until = unixNano(q.Until)
	}
	var since int64
	if !q.Since.IsZero() {
		since = unixNano(q.Since)
	}
	where := []string{"at >= ?", "at < ?"}
	args := []any{since, until}
	for _, f := range []struct{ col, v string }{{"actor", q.Actor}, {"repository", q.Repository}, {"action", q.Action}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if q.Cursor != "" {
		at, id, err := parseAuditCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(at < ? OR (at = ? AND id < ?))")
		args = append(args, at, at, id)
	}
	// One more than the page tells whether there is a next page.
	args = append(args, n+1)
	rows, err := s.read().query(ctx, `SELECT id, `+auditCols+` FROM audit_log WHERE `+
		strings.Join(where, " AND ")+` ORDER BY at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", wrap("list audit", err)
	}
	defer rows.Close()
	out := []AuditRecord{}
	for rows.Next() {
		var (
			r  AuditRecord
			at int64
		)
		var last int64
		if err := rows.Scan(&r.ID, &at, &r.Action, &r.Actor, &r.Source, &r.Addr, &r.RequestID,
			&r.Repository, &r.Target, &r.Outcome, &r.Detail, &r.Count, &last); err != nil {
			return nil, "", wrap("list audit", err)
		}
		r.Time = fromUnixNano(at)
		if last != 0 {
			r.Last = fromUnixNano(last)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", wrap("list audit", err)
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		last := out[n-1]
		next = strconv.FormatInt(unixNano(last.Time), 10) + "." + strconv.FormatInt(last.ID, 10)
	}
	return out, next, nil
}

func parseAuditCursor(c string) (at, id int64, err error) {
	a, b, ok := strings.Cut(c, ".")
	at, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w %q: pass the cursor a previous page returned", ErrBadCursor, c)
	}
	return at, id, nil
}

// DeleteAuditBefore deletes at most max records older than before, oldest
// first, and returns how many it deleted. Callers repeat it until it
// deletes fewer than max, so that no transaction holds the table long.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time, max int) (int, error) {
	if max <= 0 {
		return 0, errors.New("metadata: delete audit: max must be positive")
	}
	// The batch ends at the max-th oldest record before the cut-off (MySQL
	// refuses LIMIT in an IN subquery, and an id list would make a new
	// statement text per batch size).
	at, id := unixNano(before), int64(0)
	err := s.read().queryRow(ctx, `SELECT at, id FROM audit_log WHERE at < ? ORDER BY at, id LIMIT 1 OFFSET ?`,
		unixNano(before), max-1).Scan(&at, &id)
	switch {
	case errors.Is(err, sql.ErrNoRows): // fewer than max: all of them
		res, err := s.read().exec(ctx, `DELETE FROM audit_log WHERE at < ?`, unixNano(before))
		return auditDeleted(res, err)
	case err != nil:
		return 0, wrap("delete audit", err)
	}
	res, err := s.read().exec(ctx, `DELETE FROM audit_log WHERE at < ? OR (at = ? AND id <= ?)`, at, at, id)
	return auditDeleted(res, err)
}

func auditDeleted(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, wrap("delete audit", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("delete audit", err)
}
