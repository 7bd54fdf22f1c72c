package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mysqlCollations are the byte-order collations of utf8mb4 that do not pad:
// with utf8mb4_bin (PAD SPACE) 'a' = 'a ', so a tag "v1 " would collide
// with "v1". The first one the server has is used.
var mysqlCollations = []string{
	"utf8mb4_0900_bin",  // MySQL 8.0 and newer
	"utf8mb4_nopad_bin", // MariaDB 10.2 and newer
}

// mysqlDialect is MySQL 8.0+ or MariaDB 10.2+ with InnoDB, given the
// collation the server has (see mysqlCollations). Every column names its
// character set and collation, so the server's and the database's defaults
// (latin1 on many) do not matter. VARCHAR(255) in utf8mb4 is 1,020 bytes,
// so even a key of three such columns stays under InnoDB's 3,072-byte
// index limit.
func mysqlDialect(collation string) *dialect {
	cs := " CHARACTER SET utf8mb4 COLLATE " + collation
	return &dialect{
		name: "mysql",
		types: map[string]string{
			"{{id}}":   "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
			"{{key}}":  "VARCHAR(255)" + cs,
			"{{text}}": "LONGTEXT" + cs,
			"{{blob}}": "LONGBLOB",
		},
		insertIgnore: onDuplicateKeyNothing,
		upsert:       onDuplicateKeyUpdate,
		schema:       tableForeignKeys,
		lock:         mysqlLock,
		ddlDone:      mysqlDDLDone,
		// REPEATABLE READ, InnoDB's default, reads a snapshot taken at the
		// transaction's first read: a row another writer committed since
		// (the repository a concurrent push just created) would stay
		// invisible after INSERT … ON DUPLICATE KEY found it.
		txOptions: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
		retryable: mysqlRetryable,
		// LOCK IN SHARE MODE, not FOR SHARE: MariaDB knows only the former.
		forUpdate: " FOR UPDATE",
		forShare:  " LOCK IN SHARE MODE",
		// The assignments run left to right: expires_at sees the holder
		// just set, so it moves only when the lease was taken. A row left
		// as it was counts 0 affected rows (ClientFoundRows is off).
		tryLease: `INSERT INTO gc_leases (name, holder, expires_at) VALUES (?, ?, ?)
ON DUPLICATE KEY UPDATE
holder = IF(holder = VALUES(holder) OR holder = '' OR expires_at <= ?, VALUES(holder), holder),
expires_at = IF(holder = VALUES(holder), VALUES(expires_at), expires_at)`,
	}
}

// onDuplicateKeyNothing is MySQL's insert-ignore. INSERT IGNORE would also
// turn foreign key violations and NULLs in NOT NULL columns into warnings;
// a no-op update on a duplicate leaves every other error an error. Like ON
// CONFLICT DO NOTHING, it reports 0 affected rows for a duplicate.
func onDuplicateKeyNothing(table, cols, key string) string {
	first, _, _ := strings.Cut(key, ",")
	first = strings.TrimSpace(first)
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON DUPLICATE KEY UPDATE %s = %s",
		table, cols, placeholders(cols), first, first)
}

// onDuplicateKeyUpdate is MySQL's upsert. VALUES(col), deprecated by MySQL
// 8.0.20 in favour of a row alias, is the form both MySQL and MariaDB read.
func onDuplicateKeyUpdate(table, cols, _ string, update ...string) string {
	set := make([]string, len(update))
	for i, c := range update {
		set[i] = c + " = VALUES(" + c + ")"
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON DUPLICATE KEY UPDATE %s",
		table, cols, placeholders(cols), strings.Join(set, ", "))
}

// inlineReference is a column definition line ending in REFERENCES.
var inlineReference = regexp.MustCompile(`(?i)^(\s*)(\w+)(\s.*?)\s+(REFERENCES\s+\w+\s*\([^)]*\)(?:\s+ON\s+(?:DELETE|UPDATE)\s+(?:CASCADE|RESTRICT|SET\s+NULL|NO\s+ACTION))*)\s*(,?)\s*$`)

// tableForeignKeys moves the foreign keys of a CREATE TABLE from its column
// definitions ("col T REFERENCES t (c)") to table constraints ("FOREIGN KEY
// (col) REFERENCES t (c)"): MySQL parses the inline form and silently
// ignores it. Statements of another shape are returned unchanged.
func tableForeignKeys(stmt string) string {
	if !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "CREATE TABLE") {
		return stmt
	}
	lines := strings.Split(stmt, "\n")
	last := len(lines) - 1 // the closing parenthesis, on a line of its own
	if last < 2 || !strings.HasPrefix(strings.TrimSpace(lines[last]), ")") {
		return stmt
	}
	var fks []string
	for i, line := range lines[:last] {
		if m := inlineReference.FindStringSubmatch(line); m != nil {
			lines[i] = m[1] + m[2] + m[3] + m[5]
			fks = append(fks, fmt.Sprintf("%sFOREIGN KEY (%s) %s", m[1], m[2], m[4]))
		}
	}
	if len(fks) == 0 {
		return stmt
	}
	if prev := strings.TrimRight(lines[last-1], " \t"); !strings.HasSuffix(prev, ",") {
		lines[last-1] = prev + ","
	}
	out := append(lines[:last:last], strings.Join(fks, ",\n"), lines[last])
	return strings.Join(out, "\n")
}

// openMySQL parses dsn (go-sql-driver's user:password@tcp(host:port)/db)
// and returns a pool with the settings the store relies on. The DSN may
// hold a password: no error quotes it.
func openMySQL(dsn string) (*sql.DB, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("metadata: mysql: empty dsn (want user:password@tcp(host:3306)/database)")
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, errors.New("metadata: mysql: the dsn cannot be parsed; want user:password@tcp(host:3306)/database (escape / in the password as %2F)")
	}
	if cfg.DBName == "" {
		return nil, errors.New("metadata: mysql: the dsn names no database; end it with /database, e.g. user:password@tcp(host:3306)/wharf")
	}
	if cfg.MultiStatements {
		return nil, errors.New("metadata: mysql: multiStatements=true is not allowed in the dsn: it lets one injected statement carry others")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// Strict: a value that does not fit is an error, never silently
	// truncated. Set on every connection, whatever the server's default.
	cfg.Params["sql_mode"] = "'TRADITIONAL'"
	// Counting only changed rows as affected (the default) keeps
	// INSERT … ON DUPLICATE KEY UPDATE k = k at 0 for a duplicate, as ON
	// CONFLICT DO NOTHING is elsewhere. An UPDATE whose affected count
	// matters must therefore change a column (updated_at).
	cfg.ClientFoundRows = false
	cfg.ParseTime = false // times are BIGINT nanoseconds
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, errors.New("metadata: mysql: the dsn has invalid settings")
	}
	return sql.OpenDB(connector), nil
}

// mysqlCollation returns the first of mysqlCollations the server has.
func mysqlCollation(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN (?, ?)",
		mysqlCollations[0], mysqlCollations[1])
	if err != nil {
		return "", err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return "", err
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, c := range mysqlCollations {
		if have[c] {
			return c, nil
		}
	}
	return "", fmt.Errorf("the server has neither %s; wharf needs MySQL 8.0 or MariaDB 10.2 or newer", strings.Join(mysqlCollations, " nor "))
}

// mysqlLockName is the named lock held while migrating. Named locks are
// server-wide, so the name includes the database's.
const mysqlLockName = "CONCAT('wharf.migrate.', MD5(DATABASE()))"

func mysqlLock(ctx context.Context, c *sql.Conn) (func(), error) {
	for {
		// GET_LOCK waits at most 5 s per call, so ctx is checked between
		// calls even where the driver cannot interrupt one.
		var got sql.NullInt64
		if err := c.QueryRowContext(ctx, "SELECT GET_LOCK("+mysqlLockName+", 5)").Scan(&got); err != nil {
			return nil, err
		}
		if got.Valid && got.Int64 == 1 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var released sql.NullInt64
		_ = c.QueryRowContext(ctx, "SELECT RELEASE_LOCK("+mysqlLockName+")").Scan(&released)
	}, nil
}

// mysqlDDLDone: MySQL commits each CREATE or ALTER at once, so a
// migration interrupted halfway has left some of its tables and indexes
// behind. Running it again meets them: table exists (1050), duplicate
// column (1060) or index name (1061).
func mysqlDDLDone(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	return me.Number == 1050 || me.Number == 1060 || me.Number == 1061
}

// mysqlRetryable: a deadlock victim (1213) has been rolled back whole; a
// lock wait timeout (1205) is rolled back by the store before the retry.
func mysqlRetryable(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	return me.Number == 1213 || me.Number == 1205
}
