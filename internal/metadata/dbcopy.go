package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ErrNotEmpty is returned by CopyAll when the destination already holds
// rows: copying into it would mix two registries.
var ErrNotEmpty = errors.New("metadata: the destination database is not empty")

// CopyOptions tune CopyAll.
type CopyOptions struct {
	// Force deletes the destination's rows (in the same transaction as
	// the copy) instead of refusing a destination that is not empty.
	Force bool
	// Progress, when set, is called after each batch with the table and
	// the rows copied into it so far.
	Progress func(table string, rows, total int64)
}

// TableCopy is one table's row count, the same in source and destination
// once the copy is done.
type TableCopy struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// CopyReport is what CopyAll did.
type CopyReport struct {
	From          string      `json:"from"`
	To            string      `json:"to"`
	SchemaVersion int64       `json:"schema_version"`
	Tables        []TableCopy `json:"tables"`
	Rows          int64       `json:"rows"`
	// Replaced counts the destination's rows deleted by Force.
	Replaced int64   `json:"replaced"`
	Seconds  float64 `json:"seconds"`
}

// Driver is the store's database: sqlite, postgres or mysql.
func (s *Store) Driver() string { return s.d.name }

// CopyAll copies every row of every table of the metadata schema from src
// to dst, which this wharf has both migrated to the same version: tables
// in the order their foreign keys need, in batches, all inside one
// transaction of dst, so a failure or an interruption leaves dst as it
// was. src is read in one transaction too, a consistent snapshot. Row
// counts are compared at the end, before the commit, and PostgreSQL's
// identity sequences are moved past the copied ids so that new rows do not
// collide with them.
func CopyAll(ctx context.Context, src, dst *Store, opt CopyOptions) (*CopyReport, error) {
	start := time.Now()
	tables, err := schemaTables()
	if err != nil {
		return nil, fmt.Errorf("metadata: copy: %w", err)
	}
	version, err := sameVersion(ctx, src, dst)
	if err != nil {
		return nil, err
	}
	rep := &CopyReport{From: src.d.name, To: dst.d.name, SchemaVersion: version}

	rtx, err := src.db.BeginTx(ctx, snapshotOptions(src.d))
	if err != nil {
		return nil, fmt.Errorf("metadata: copy: reading the source: %w", err)
	}
	defer func() { _ = rtx.Rollback() }() // read only: nothing to commit
	if err := knownTables(ctx, rtx, src.d, tables); err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := rtx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&n); err != nil {
			return nil, fmt.Errorf("metadata: copy: counting %s: %w", t.name, err)
		}
		counts[t.name] = n
	}

	err = dst.tryTx(ctx, func(c conn) error {
		replaced, err := emptyDestination(ctx, c, tables, opt.Force)
		if err != nil {
			return err
		}
		rep.Replaced = replaced
		for _, t := range tables {
			if err := copyTable(ctx, rtx, c, t, counts[t.name], opt.Progress); err != nil {
				return fmt.Errorf("metadata: copy: table %s: %w", t.name, err)
			}
		}
		rep.Tables, rep.Rows = rep.Tables[:0], 0
		for _, t := range tables {
			var n int64
			if err := c.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&n); err != nil {
				return fmt.Errorf("metadata: copy: counting %s: %w", t.name, err)
			}
			if n != counts[t.name] {
				return fmt.Errorf("metadata: copy: table %s has %d rows at the destination, %d at the source; nothing was committed", t.name, n, counts[t.name])
			}
			rep.Tables = append(rep.Tables, TableCopy{Table: t.name, Rows: n})
			rep.Rows += n
			if t.id != "" && c.d.name == "postgres" {
				// Rows were inserted with their ids: move the identity
				// past them, or the next insert would reuse id 1.
				q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', '%s'), COALESCE(MAX(%s), 0) + 1, false) FROM %s", t.name, t.id, t.id, t.name)
				if _, err := c.q.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("metadata: copy: resetting the sequence of %s: %w", t.name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// snapshotOptions reads the source as of one moment. On SQLite any
// transaction is a snapshot (and this store's take the write lock, which
// also keeps writers out while it reads).
func snapshotOptions(d *dialect) *sql.TxOptions {
	if d.name == "sqlite" {
		return nil
	}
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

// sameVersion checks that both databases have applied the same migrations
// and returns the newest.
func sameVersion(ctx context.Context, src, dst *Store) (int64, error) {
	var versions [2][]int64
	for i, s := range []*Store{src, dst} {
		rows, err := s.db.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
		if err != nil {
			return 0, fmt.Errorf("metadata: copy: schema versions: %w", err)
		}
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return 0, fmt.Errorf("metadata: copy: schema versions: %w", err)
			}
			versions[i] = append(versions[i], v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("metadata: copy: schema versions: %w", err)
		}
	}
	if !slices.Equal(versions[0], versions[1]) || len(versions[0]) == 0 {
		return 0, fmt.Errorf("metadata: copy: the source has schema migrations %v, the destination %v: open both with this wharf first", versions[0], versions[1])
	}
	return versions[0][len(versions[0])-1], nil
}

// emptyDestination refuses a destination that holds rows of its own, or
// with force deletes them (children first) and returns how many. Tables a
// migration seeds with a row are emptied either way: the copy brings the
// source's row.
func emptyDestination(ctx context.Context, c conn, tables []table, force bool) (int64, error) {
	var total int64
	var full []string
	for _, t := range tables {
		var n int64
		if err := c.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&n); err != nil {
			return 0, fmt.Errorf("metadata: copy: counting %s: %w", t.name, err)
		}
		if n > 0 && !t.seeded {
			full = append(full, fmt.Sprintf("%s (%d rows)", t.name, n))
			total += n
		}
	}
	if len(full) > 0 && !force {
		return 0, fmt.Errorf("%w: %s; give a new, empty database, or --force to replace what it holds", ErrNotEmpty, strings.Join(full, ", "))
	}
	for _, t := range slices.Backward(tables) {
		if _, err := c.q.ExecContext(ctx, "DELETE FROM "+t.name); err != nil {
			return 0, fmt.Errorf("metadata: copy: emptying %s: %w", t.name, err)
		}
	}
	return total, nil
}

// copyRowsMax and copyBytesMax bound one INSERT: placeholders stay far
// below every database's limit (SQLite 32766, PostgreSQL and MySQL
// 65535), and a batch of manifest payloads (up to 4 MiB each) under
// MySQL's smallest max_allowed_packet default (MariaDB 16 MiB).
const (
	copyParamsMax = 4096
	copyRowsMax   = 500
	copyBytesMax  = 8 << 20
)

// copyTable reads t from the source snapshot and inserts its rows into the
// destination in batches.
func copyTable(ctx context.Context, rtx *sql.Tx, c conn, t table, total int64, progress func(string, int64, int64)) error {
	rows, err := rtx.QueryContext(ctx, "SELECT * FROM "+t.name)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	quoted := make([]string, len(cols))
	for i, col := range cols {
		quoted[i] = c.d.quote(col)
	}
	head := "INSERT INTO " + t.name + " (" + strings.Join(quoted, ", ") + ") VALUES "
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	perBatch := max(1, min(copyRowsMax, copyParamsMax/len(cols)))

	var (
		args  []any
		n     int
		bytes int
		done  int64
	)
	flush := func() error {
		if n == 0 {
			return nil
		}
		q := head + strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ")
		if _, err := c.q.ExecContext(ctx, c.rebind(q), args...); err != nil {
			return err
		}
		done += int64(n)
		if progress != nil {
			progress(t.name, done, total)
		}
		args, n, bytes = args[:0], 0, 0
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				bytes += len(v)
			case string:
				bytes += len(v)
			}
		}
		args = append(args, vals...)
		n++
		if n >= perBatch || bytes >= copyBytesMax {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}

// knownTables refuses a source with a table this wharf's migrations do not
// create (a newer wharf's, or one added by hand): its rows would be left
// behind without a word.
func knownTables(ctx context.Context, rtx *sql.Tx, d *dialect, tables []table) error {
	var q string
	switch d.name {
	case "sqlite":
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	case "postgres":
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	default:
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
	}
	rows, err := rtx.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("metadata: copy: listing the source's tables: %w", err)
	}
	defer rows.Close()
	var unknown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("metadata: copy: listing the source's tables: %w", err)
		}
		if name != "schema_migrations" && !slices.ContainsFunc(tables, func(t table) bool { return strings.EqualFold(t.name, name) }) {
			unknown = append(unknown, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("metadata: copy: listing the source's tables: %w", err)
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("metadata: copy: the source has tables this wharf does not know (%s): nothing was copied", strings.Join(unknown, ", "))
	}
	return nil
}

// table is one table of the schema, as the migrations create it.
type table struct {
	name   string
	refs   []string // tables its foreign keys point to
	id     string   // its auto-increment column, if any
	seeded bool     // a migration inserts a row into it
}

var (
	createTable = regexp.MustCompile(`(?is)^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	alterTable  = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(\w+)`)
	dropTable   = regexp.MustCompile(`(?is)^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)`)
	insertInto  = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+(\w+)`)
	references  = regexp.MustCompile(`(?i)\bREFERENCES\s+(\w+)`)
	idColumn    = regexp.MustCompile(`(\w+)\s+\{\{id\}\}`)
)

// schemaTables reads the tables of the embedded migrations, ordered so
// that every table comes after the tables its foreign keys point to.
func schemaTables() ([]table, error) {
	all, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return tablesOf(all)
}

func tablesOf(all []migration) ([]table, error) {
	var order []string
	byName := map[string]*table{}
	for _, m := range all {
		for _, stmt := range splitStatements(m.sql) {
			if g := createTable.FindStringSubmatch(stmt); g != nil {
				name := strings.ToLower(g[1])
				t := &table{name: name}
				if id := idColumn.FindStringSubmatch(stmt); id != nil {
					t.id = strings.ToLower(id[1])
				}
				for _, r := range references.FindAllStringSubmatch(stmt, -1) {
					t.refs = append(t.refs, strings.ToLower(r[1]))
				}
				byName[name] = t
				order = append(order, name)
			} else if g := alterTable.FindStringSubmatch(stmt); g != nil {
				if t := byName[strings.ToLower(g[1])]; t != nil {
					for _, r := range references.FindAllStringSubmatch(stmt, -1) {
						t.refs = append(t.refs, strings.ToLower(r[1]))
					}
				}
			} else if g := dropTable.FindStringSubmatch(stmt); g != nil {
				name := strings.ToLower(g[1])
				delete(byName, name)
				order = slices.DeleteFunc(order, func(n string) bool { return n == name })
			} else if g := insertInto.FindStringSubmatch(stmt); g != nil {
				if t := byName[strings.ToLower(g[1])]; t != nil {
					t.seeded = true
				}
			}
		}
	}
	// Creation order already puts most parents first; this places every
	// table after its parents whatever order later migrations add them in.
	var out []table
	placed := map[string]bool{}
	for len(out) < len(order) {
		progressed := false
		for _, name := range order {
			t := byName[name]
			if placed[name] || slices.ContainsFunc(t.refs, func(r string) bool { return r != name && !placed[r] && byName[r] != nil }) {
				continue
			}
			out = append(out, *t)
			placed[name] = true
			progressed = true
		}
		if !progressed {
			return nil, fmt.Errorf("the foreign keys of the schema form a cycle")
		}
	}
	return out, nil
}

// quote quotes a column name the way d reads identifiers: a column named
// like a keyword (key, position) is then still a column.
func (d *dialect) quote(col string) string {
	if d.name == "mysql" {
		return "`" + col + "`"
	}
	return `"` + col + `"`
}
