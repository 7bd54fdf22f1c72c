package xorm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Database types, docker_auth's names.
const (
	SQLite3  = "sqlite3"
	Postgres = "postgres"
	MySQL    = "mysql"
)

// DB is an open database of one of the types.
type DB struct {
	*sql.DB
	Type string
	// Timeout bounds each query of the callers.
	Timeout time.Duration
}

// Open opens the database and checks that it answers within timeout.
func Open(ctx context.Context, databaseType, connString string, timeout time.Duration) (*DB, error) {
	if timeout <= 0 {
		return nil, errors.New("xorm: the timeout must be positive")
	}
	var (
		db  *sql.DB
		err error
	)
	switch databaseType {
	case SQLite3:
		db, err = openSQLite(connString, timeout)
	case Postgres:
		db, err = openPostgres(connString, timeout)
	case MySQL:
		db, err = openMySQL(connString, timeout)
	default:
		return nil, fmt.Errorf("xorm: database type %q is not one of sqlite3, postgres, mysql", databaseType)
	}
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("xorm: %s: %w", databaseType, err)
	}
	return &DB{DB: db, Type: databaseType, Timeout: timeout}, nil
}

// placeholder returns the n-th (1-based) query parameter's placeholder.
func (d *DB) placeholder(n int) string {
	if d.Type == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// sqlitePath returns the file a sqlite3 connection string names: a path or
// a file: URI, whose query (options of the C driver docker_auth uses) is
// dropped, since wharf sets its own.
func sqlitePath(connString string) (string, error) {
	s := connString
	if strings.HasPrefix(s, "file:") {
		u, err := url.Parse(s)
		if err != nil {
			return "", errors.New("xorm: sqlite3: the conn_string is not a valid file: URI")
		}
		s = u.Opaque
		if s == "" {
			s = u.Path
		}
		if us, err := url.PathUnescape(s); err == nil {
			s = us
		}
	} else if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	switch {
	case s == "":
		return "", errors.New("xorm: sqlite3: the conn_string names no file")
	case s == ":memory:" || strings.HasPrefix(s, ":memory:"):
		return "", errors.New("xorm: sqlite3: an in-memory database holds no users; give the database file")
	case strings.ContainsAny(s, "?#"):
		return "", fmt.Errorf("xorm: sqlite3: %q: a file name with ? or # is not supported", s)
	}
	return s, nil
}

func openSQLite(connString string, timeout time.Duration) (*sql.DB, error) {
	path, err := sqlitePath(connString)
	if err != nil {
		return nil, err
	}
	// docker_auth would create an empty database; a missing file is far
	// more likely a wrong path, so it is an error here.
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("xorm: sqlite3: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("xorm: sqlite3: %s is not a file", path)
	}
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(timeout.Milliseconds(), 10))
	q.Set("_query_only", "1")
	return sql.Open("sqlite", path+"?"+q.Encode())
}

func openPostgres(connString string, timeout time.Duration) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		// The parser's message may quote the string, password included.
		return nil, errors.New("xorm: postgres: the conn_string cannot be parsed; want postgres://user:password@host:5432/database?sslmode=verify-full, or libpq key=value pairs")
	}
	if !strings.Contains(strings.ToLower(connString), "sslmode") && os.Getenv("PGSSLMODE") == "" {
		// docker_auth's driver (lib/pq) requires TLS when sslmode is not
		// given; pgx would fall back to plain text. Keep lib/pq's default:
		// TLS or no connection.
		tlsOnly := cfg.Fallbacks[:0]
		for _, f := range cfg.Fallbacks {
			if f.TLSConfig != nil {
				tlsOnly = append(tlsOnly, f)
			}
		}
		cfg.Fallbacks = tlsOnly
		if cfg.TLSConfig == nil && len(cfg.Fallbacks) > 0 {
			cfg.Host, cfg.Port, cfg.TLSConfig = cfg.Fallbacks[0].Host, cfg.Fallbacks[0].Port, cfg.Fallbacks[0].TLSConfig
			cfg.Fallbacks = cfg.Fallbacks[1:]
		}
		if cfg.TLSConfig == nil {
			return nil, errors.New("xorm: postgres: the conn_string gives no sslmode and no TLS connection can be made; add sslmode (docker_auth's driver requires TLS by default)")
		}
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > timeout {
		cfg.ConnectTimeout = timeout
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "wharf"
	}
	return stdlib.OpenDB(*cfg), nil
}

func openMySQL(connString string, timeout time.Duration) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(connString)
	if err != nil {
		return nil, errors.New("xorm: mysql: the conn_string cannot be parsed; want user:password@tcp(host:3306)/database (escape / in the password as %2F)")
	}
	if cfg.DBName == "" {
		return nil, errors.New("xorm: mysql: the conn_string names no database; end it with /database")
	}
	if cfg.MultiStatements {
		return nil, errors.New("xorm: mysql: multiStatements=true is not allowed in the conn_string")
	}
	if cfg.Timeout == 0 || cfg.Timeout > timeout {
		cfg.Timeout = timeout
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = timeout
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, errors.New("xorm: mysql: the conn_string has invalid settings")
	}
	return sql.OpenDB(connector), nil
}
