package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// The database types of xorm_auth and acl_xorm, docker_auth's names.
const (
	XormSQLite3  = "sqlite3"
	XormPostgres = "postgres"
	XormMySQL    = "mysql"
)

// DefaultXormTimeout bounds connecting and each query of xorm_auth and
// acl_xorm.
const DefaultXormTimeout = 10 * time.Second

// XormAuth authenticates users stored in an SQL table the way docker_auth's
// xorm_auth does: the table xorm_user (username, password_hash, labels as
// JSON).
type XormAuth struct {
	// DatabaseType is sqlite3, postgres or mysql.
	DatabaseType string `yaml:"database_type"`
	// ConnString is the connection string: with sqlite3 the database file
	// (a path or a file: URI); with postgres a URL or key=value pairs;
	// with mysql user:password@tcp(host:3306)/database.
	ConnString string `yaml:"conn_string"`
	// ConnStringFile is a file holding ConnString (a Docker or Kubernetes
	// secret), instead of ConnString.
	ConnStringFile string `yaml:"conn_string_file"`
}

// ACLXorm reads ACL rules from the SQL table xorm_acl_entry the way
// docker_auth's acl_xorm does (seq, acl_entry as JSON), reloaded every
// CacheTTL.
type ACLXorm struct {
	DatabaseType   string `yaml:"database_type"`
	ConnString     string `yaml:"conn_string"`
	ConnStringFile string `yaml:"conn_string_file"`
	// CacheTTL is how often the rules are reloaded (default 1m).
	CacheTTL Duration `yaml:"cache_ttl"`
}

// Connection returns the database settings of the section.
func (a ACLXorm) Connection() XormAuth {
	return XormAuth{DatabaseType: a.DatabaseType, ConnString: a.ConnString, ConnStringFile: a.ConnStringFile}
}

// CacheTTLOrDefault is the configured reload interval, or DefaultACLCacheTTL.
func (a ACLXorm) CacheTTLOrDefault() time.Duration { return ttlOrDefault(a.CacheTTL) }

// ResolveConnString returns the connection string, read from
// ConnStringFile when that is set. Errors name the file, never its content.
func (x XormAuth) ResolveConnString(key string) (string, error) {
	if x.ConnStringFile == "" {
		return x.ConnString, nil
	}
	b, err := os.ReadFile(x.ConnStringFile)
	if err != nil {
		return "", fmt.Errorf("%s.conn_string_file: %w", key, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s.conn_string_file: %s is empty", key, x.ConnStringFile)
	}
	return s, nil
}

// String describes the database without its password.
func (x XormAuth) String() string {
	if x.ConnStringFile != "" {
		return x.DatabaseType + " (conn_string from " + x.ConnStringFile + ")"
	}
	return x.DatabaseType + " " + RedactDSN(x.ConnString)
}

// LogValue logs the database without its password.
func (x XormAuth) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("database_type", x.DatabaseType)}
	if x.ConnString != "" {
		attrs = append(attrs, slog.String("conn_string", RedactDSN(x.ConnString)))
	}
	if x.ConnStringFile != "" {
		attrs = append(attrs, slog.String("conn_string_file", x.ConnStringFile))
	}
	return slog.GroupValue(attrs...)
}

func (x XormAuth) validate(key string) []error {
	var errs []error
	switch x.DatabaseType {
	case XormSQLite3, XormPostgres, XormMySQL:
	case "":
		errs = append(errs, fmt.Errorf("%s.database_type: required: sqlite3, postgres or mysql", key))
	case "sqlite":
		errs = append(errs, fmt.Errorf("%s.database_type: %q: docker_auth's name is sqlite3", key, x.DatabaseType))
	case "mssql", "oracle", "tidb", "oci8", "godror", "dm":
		errs = append(errs, fmt.Errorf("%s.database_type: %q is not supported; wharf reads sqlite3, postgres and mysql", key, x.DatabaseType))
	default:
		errs = append(errs, fmt.Errorf("%s.database_type: %q is not one of sqlite3, postgres, mysql", key, x.DatabaseType))
	}
	switch {
	case x.ConnString != "" && x.ConnStringFile != "":
		errs = append(errs, fmt.Errorf("%s: conn_string and conn_string_file are both set; keep one", key))
	case x.ConnString == "" && x.ConnStringFile == "":
		errs = append(errs, fmt.Errorf("%s.conn_string: required: the database to read (for example %s)", key, xormExample(x.DatabaseType)))
	case strings.TrimSpace(x.ConnString) != x.ConnString:
		errs = append(errs, errors.New(key+".conn_string: has leading or trailing spaces"))
	}
	return errs
}

func xormExample(databaseType string) string {
	switch databaseType {
	case XormPostgres:
		return `"postgres://docker_auth:PASSWORD@db.example.com/docker_auth?sslmode=verify-full"`
	case XormMySQL:
		return `"docker_auth:PASSWORD@tcp(db.example.com:3306)/docker_auth"`
	}
	return `"/var/lib/docker_auth/auth.db"`
}
