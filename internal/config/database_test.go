package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDatabaseValidate(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-secret"
	for _, tc := range []struct {
		name    string
		db      Database
		wantErr string // "" for valid
	}{
		{"default", Database{}, ""},
		{"sqlite default path", Database{Driver: "sqlite"}, ""},
		{"sqlite path", Database{Driver: "sqlite", DSN: "/srv/wharf/meta.db"}, ""},
		{"sqlite query string", Database{Driver: "sqlite", DSN: "/srv/w.db?_foreign_keys=0"}, "database.dsn: with sqlite"},
		{"sqlite memory", Database{Driver: "sqlite", DSN: ":memory:"}, "database.dsn: with sqlite"},
		{"sqlite dsn_file", Database{Driver: "sqlite", DSNFile: "/run/secrets/dsn"}, "database.dsn_file: only for"},
		{"postgres", Database{Driver: "postgres", DSN: "postgres://wharf:" + secret + "@db/wharf"}, ""},
		{"postgres dsn_file", Database{Driver: "postgres", DSNFile: "/run/secrets/dsn"}, ""},
		{"postgres without dsn", Database{Driver: "postgres"}, "database.dsn: required with driver postgres"},
		{"mysql without dsn", Database{Driver: "mysql"}, "database.dsn: required with driver mysql"},
		{"mysql", Database{Driver: "mysql", DSN: "wharf:" + secret + "@tcp(db:3306)/wharf"}, ""},
		{"both", Database{Driver: "mysql", DSN: "wharf:" + secret + "@tcp(db:3306)/wharf", DSNFile: "/f"}, "dsn and dsn_file are both set"},
		{"spaces", Database{Driver: "postgres", DSN: " postgres://wharf:" + secret + "@db/wharf "}, "spaces"},
		{"postgres key=value", Database{Driver: "postgres", DSN: "host=db user=wharf password=" + secret + " dbname=wharf"}, ""},
		{"postgresql scheme", Database{Driver: "postgres", DSN: "postgresql://wharf:" + secret + "@db/wharf"}, ""},
		{"mysql DSN for postgres", Database{Driver: "postgres", DSN: "wharf:" + secret + "@tcp(db:3306)/wharf"}, "neither a postgres:// URL nor libpq key=value pairs"},
		{"other scheme for postgres", Database{Driver: "postgres", DSN: "mysql://wharf:" + secret + "@db/wharf"}, `a URL of scheme "mysql"`},
		{"unencoded password", Database{Driver: "postgres", DSN: "postgres://wharf:" + secret + "%zz@db/wharf"}, "percent-encoded"},
		{"URL for mysql", Database{Driver: "mysql", DSN: "mysql://wharf:" + secret + "@db:3306/wharf"}, "not a URL"},
		{"mysql without database", Database{Driver: "mysql", DSN: "wharf:" + secret + "@tcp(db:3306)"}, "lacks the /database part"},
		{"mysql unbalanced", Database{Driver: "mysql", DSN: "wharf:" + secret + "@tcp(db:3306/wharf"}, "unbalanced parentheses"},
		{"unknown driver", Database{Driver: "oracle", DSN: "oracle://scott:" + secret + "@db"}, `database.driver: "oracle" is not one of`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Database = tc.db
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}

func TestLoadDatabase(t *testing.T) {
	t.Parallel()
	c, err := Load(write(t, "database:\n  driver: postgres\n  dsn: postgres://wharf:pw@db/wharf\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Driver != "postgres" || c.Database.DSN != "postgres://wharf:pw@db/wharf" {
		t.Errorf("Database = %+v", c.Database)
	}
	if _, err := Load(write(t, "database:\n  drvier: postgres\n")); err == nil || !strings.Contains(err.Error(), "drvier") {
		t.Errorf("unknown key: %v", err)
	}
	if Default().Database.DriverName() != "sqlite" {
		t.Errorf("default driver = %q", Default().Database.DriverName())
	}
}

func TestResolveDSN(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "dsn")
	if err := os.WriteFile(p, []byte("postgres://wharf:pw@db/wharf\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Database{Driver: "postgres", DSNFile: p}.ResolveDSN()
	if err != nil || got != "postgres://wharf:pw@db/wharf" {
		t.Errorf("ResolveDSN = %q, %v", got, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{empty, filepath.Join(dir, "missing")} {
		if _, err := (Database{Driver: "postgres", DSNFile: f}).ResolveDSN(); err == nil || !strings.Contains(err.Error(), "database.dsn_file") {
			t.Errorf("ResolveDSN(%s) = %v, want an error naming database.dsn_file", f, err)
		}
	}
	if got, err := (Database{Driver: "mysql", DSN: "x"}).ResolveDSN(); got != "x" || err != nil {
		t.Errorf("ResolveDSN without a file = %q, %v", got, err)
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"/srv/wharf/wharf.db", "/srv/wharf/wharf.db"},
		{"postgres://wharf:s3cret@db:5432/wharf?sslmode=verify-full", "postgres://wharf:***@db:5432/wharf?sslmode=verify-full"},
		{"postgres://wharf:p%40ss%2Fw@db/wharf", "postgres://wharf:***@db/wharf"},
		{"postgres://wharf@db/wharf", "postgres://wharf@db/wharf"},
		{"postgres://db/wharf?user=wharf&password=s3cret", "postgres://db/wharf?user=wharf&password=***"},
		{"postgresql://wharf:s3cret@db/wharf", "postgresql://wharf:***@db/wharf"},
		{"host=db user=wharf password=s3cret dbname=wharf", "host=db user=wharf password=*** dbname=wharf"},
		{"host=db password='s3 cret\\'x' dbname=wharf", "host=db password=*** dbname=wharf"},
		{"host=db PASSWORD = s3cret", "host=db PASSWORD = ***"},
		{"wharf:s3cret@tcp(db:3306)/wharf?tls=true", "wharf:***@tcp(db:3306)/wharf?tls=true"},
		{"wharf:s3@cr:et@tcp(db:3306)/wharf", "wharf:***@tcp(db:3306)/wharf"},
		{"wharf@tcp(db:3306)/wharf", "wharf@tcp(db:3306)/wharf"},
		{"wharf:s3cret@unix(/run/mysqld/mysqld.sock)/wharf", "wharf:***@unix(/run/mysqld/mysqld.sock)/wharf"},
		{"wharf:s3cret@tcp(db:3306)", "***"},
		{"postgres://wharf:s3cret@db:port/wharf", "***"},
	} {
		got := RedactDSN(tc.in)
		if got != tc.want {
			t.Errorf("RedactDSN(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "s3") {
			t.Errorf("RedactDSN(%q) = %q shows the password", tc.in, got)
		}
	}
}

func TestDatabasePrintsNoPassword(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Database = Database{Driver: "postgres", DSN: "postgres://wharf:s3cret@db/wharf"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("start", "database", c.Database)
	for _, s := range []string{fmt.Sprint(c.Database), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), logged.String()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("printed with its password: %s", s)
		}
		if !strings.Contains(s, "postgres://wharf:***@db/wharf") {
			t.Errorf("printed without the redacted DSN: %s", s)
		}
	}
}
