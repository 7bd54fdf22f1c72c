package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Database drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
	DriverMySQL    = "mysql"
)

// Database selects the SQL database holding metadata (repositories,
// manifests, tags) and identity (users, teams, ACL rules, access tokens).
//
// The DSN may carry a password: Database prints and logs it with the
// password replaced by *** (String, LogValue), and Validate never quotes it.
type Database struct {
	// Driver is "sqlite" (the default, a file in the data directory),
	// "postgres" or "mysql" (MySQL or MariaDB).
	Driver string `yaml:"driver"`
	// DSN is the driver's connection string: with sqlite the path of the
	// database file (empty means <data>/wharf.db); with postgres a URL
	// (postgres://user:password@host:5432/database?sslmode=verify-full) or
	// libpq key=value pairs; with mysql go-sql-driver's
	// user:password@tcp(host:3306)/database.
	DSN string `yaml:"dsn"`
	// DSNFile is a file holding the DSN (a Docker or Kubernetes secret),
	// instead of DSN. Surrounding whitespace is ignored.
	DSNFile string `yaml:"dsn_file"`
}

// validate appends the section's problems to errs.
func (d Database) validate(errs []error) []error {
	switch d.Driver {
	case "", DriverSQLite:
		if d.DSNFile != "" {
			errs = append(errs, errors.New("database.dsn_file: only for postgres and mysql; with sqlite give the file path as database.dsn"))
		}
		if strings.Contains(d.DSN, "?") || strings.HasPrefix(d.DSN, "file:") || d.DSN == ":memory:" {
			errs = append(errs, errors.New("database.dsn: with sqlite, the plain path of the database file (no file: URI, query string or :memory:); Wharf sets the connection options itself"))
		}
	case DriverPostgres, DriverMySQL:
		example := "postgres://wharf:PASSWORD@db.example.com:5432/wharf?sslmode=verify-full"
		if d.Driver == DriverMySQL {
			example = "wharf:PASSWORD@tcp(db.example.com:3306)/wharf"
		}
		switch {
		case d.DSN != "" && d.DSNFile != "":
			errs = append(errs, errors.New("database: dsn and dsn_file are both set; keep one"))
		case d.DSN == "" && d.DSNFile == "":
			errs = append(errs, fmt.Errorf("database.dsn: required with driver %s (for example %q, or WHARF_DATABASE_DSN, or database.dsn_file)", d.Driver, example))
		case strings.TrimSpace(d.DSN) != d.DSN:
			errs = append(errs, errors.New("database.dsn: has leading or trailing spaces"))
		case d.DSN != "":
			if err := dsnShape(d.Driver, d.DSN); err != nil {
				errs = append(errs, fmt.Errorf("database.dsn: %w (for example %q)", err, example))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("database.driver: %q is not one of sqlite, postgres, mysql", d.Driver))
	}
	return errs
}

// dsnShape catches a DSN written for the other driver or mangled, before
// the server creates anything; the driver still has the last word when it
// connects. Messages never quote the DSN: it may hold a password.
func dsnShape(driver, dsn string) error {
	isURL := strings.Contains(dsn, "://")
	switch {
	case driver == DriverMySQL && isURL:
		return errors.New("mysql's DSN is go-sql-driver's user:password@tcp(host:3306)/database, not a URL")
	case driver == DriverMySQL && !strings.Contains(dsn, "/"):
		return errors.New("mysql's DSN lacks the /database part")
	case driver == DriverMySQL && strings.Count(dsn, "(") != strings.Count(dsn, ")"):
		return errors.New("mysql's DSN has unbalanced parentheses around the address")
	case driver == DriverPostgres && isURL:
		u, err := url.Parse(dsn)
		if err != nil {
			return errors.New("not a valid URL (a password with special characters must be percent-encoded)")
		}
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return fmt.Errorf("a URL of scheme %q; PostgreSQL's is postgres://", u.Scheme)
		}
	case driver == DriverPostgres && !strings.Contains(dsn, "="):
		return errors.New("neither a postgres:// URL nor libpq key=value pairs")
	}
	return nil
}

// ResolveDSN returns the DSN, read from DSNFile when that is set. Errors
// name the file, never its content.
func (d Database) ResolveDSN() (string, error) {
	if d.DSNFile == "" {
		return d.DSN, nil
	}
	b, err := os.ReadFile(d.DSNFile)
	if err != nil {
		return "", fmt.Errorf("database.dsn_file: %w", err)
	}
	dsn := strings.TrimSpace(string(b))
	if dsn == "" {
		return "", fmt.Errorf("database.dsn_file: %s is empty", d.DSNFile)
	}
	return dsn, nil
}

// DriverName is Driver with the default filled in.
func (d Database) DriverName() string {
	if d.Driver == "" {
		return DriverSQLite
	}
	return d.Driver
}

// String describes the database without its password.
func (d Database) String() string {
	switch {
	case d.DSNFile != "":
		return d.DriverName() + " (dsn from " + d.DSNFile + ")"
	case d.DSN == "":
		return d.DriverName()
	}
	return d.DriverName() + " " + RedactDSN(d.DSN)
}

// LogValue logs the database without its password.
func (d Database) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("driver", d.DriverName())}
	if d.DSN != "" {
		attrs = append(attrs, slog.String("dsn", RedactDSN(d.DSN)))
	}
	if d.DSNFile != "" {
		attrs = append(attrs, slog.String("dsn_file", d.DSNFile))
	}
	return slog.GroupValue(attrs...)
}

// passwordPair is a password in libpq key=value form, quoted or not.
var passwordPair = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// RedactDSN returns dsn with its password replaced by ***, for logs and
// messages. It understands URLs (postgres://user:password@host/db), libpq
// key=value pairs (password=…) and go-sql-driver's form
// (user:password@tcp(host)/db). A DSN it cannot take apart comes back
// entirely hidden rather than risk showing a password.
func RedactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "***"
		}
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxx")
			s := strings.Replace(u.String(), ":xxx@", ":***@", 1)
			return passwordPair.ReplaceAllString(s, "${1}***") // a password=… in the query
		}
		return passwordPair.ReplaceAllString(u.String(), "${1}***")
	}
	if passwordPair.MatchString(dsn) {
		return passwordPair.ReplaceAllString(dsn, "${1}***")
	}
	// go-sql-driver: [user[:password]@][net[(addr)]]/dbname[?params]. The
	// driver splits at the last "/" and then at the last "@" before it.
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		if strings.Contains(dsn, "@") || strings.Contains(dsn, ":") {
			return "***"
		}
		return dsn // a file path or a bare word: nothing secret in it
	}
	at := strings.LastIndexByte(dsn[:slash], '@')
	if at < 0 {
		return dsn
	}
	user, _, hasPassword := strings.Cut(dsn[:at], ":")
	if !hasPassword {
		return dsn
	}
	return user + ":***" + dsn[at:]
}
