package testserver_test

import (
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"wharf/internal/testserver"
)

var servers testserver.Shared

func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }

// query opens dsn with driver, runs query and returns its one text result.
func query(t *testing.T, driver, dsn, query string) (string, error) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var s string
	err = db.QueryRowContext(t.Context(), query).Scan(&s)
	return s, err
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := testserver.StartPostgres(t)
	if !strings.HasPrefix(pg.Addr, "127.0.0.1:") {
		t.Errorf("Addr = %q, want 127.0.0.1:port", pg.Addr)
	}
	got, err := query(t, "pgx", pg.DSN, "SELECT current_database() || ' ' || current_user")
	if err != nil || got != "wharf wharf" {
		t.Fatalf("query on DSN = %q, %v; want \"wharf wharf\"", got, err)
	}
	// The password is checked over TCP.
	cfg, err := pgx.ParseConfig(pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Replace(pg.DSN, ":"+cfg.Password+"@", ":wrong@", 1)
	if _, err := query(t, "pgx", wrong, "SELECT 'x'"); err == nil {
		t.Errorf("a wrong password was accepted")
	}
	// Databases of one server are separate.
	a, b := pg.NewDatabase(t), pg.NewDatabase(t)
	if a == b {
		t.Fatalf("NewDatabase returned %q twice", a)
	}
	for _, dsn := range []string{a, b} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE only_here (x int)"); err != nil {
			t.Fatalf("create table in %s: %v", dsn, err)
		}
		db.Close()
	}
	if testserver.Tail(pg.LogPath, 5) == "" {
		t.Errorf("empty server log %s", pg.LogPath)
	}
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	m := testserver.StartMariaDB(t)
	got, err := query(t, "mysql", m.DSN, "SELECT CONCAT(DATABASE(), ' ', CURRENT_USER())")
	if err != nil || got != "wharf wharf@127.0.0.1" {
		t.Fatalf("query on DSN = %q, %v; want \"wharf wharf@127.0.0.1\"", got, err)
	}
	cfg, err := mysql.ParseDSN(m.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Passwd = "wrong"
	if _, err := query(t, "mysql", cfg.FormatDSN(), "SELECT 'x'"); err == nil {
		t.Errorf("a wrong password was accepted")
	}
	a, b := m.NewDatabase(t), m.NewDatabase(t)
	if a == b {
		t.Fatalf("NewDatabase returned %q twice", a)
	}
	for _, dsn := range []string{a, b} {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE only_here (x int)"); err != nil {
			t.Fatalf("create table in %s: %v", dsn, err)
		}
		db.Close()
	}
}

// TestShared checks that tests of a package get one server each kind and a
// fresh database each.
func TestShared(t *testing.T) {
	for _, kind := range []string{"postgres", "mariadb"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var dsns []string
			for i := range 2 {
				t.Run("sub", func(t *testing.T) {
					switch kind {
					case "postgres":
						pg := servers.Postgres(t)
						if pg2 := servers.Postgres(t); pg2 != pg {
							t.Errorf("second call started another server")
						}
						dsns = append(dsns, pg.NewDatabase(t))
						if _, err := query(t, "pgx", dsns[i], "SELECT current_database()"); err != nil {
							t.Fatal(err)
						}
					case "mariadb":
						m := servers.MariaDB(t)
						if m2 := servers.MariaDB(t); m2 != m {
							t.Errorf("second call started another server")
						}
						dsns = append(dsns, m.NewDatabase(t))
						if _, err := query(t, "mysql", dsns[i], "SELECT DATABASE()"); err != nil {
							t.Fatal(err)
						}
					}
				})
			}
			if len(dsns) == 2 && dsns[0] == dsns[1] {
				t.Errorf("two tests got the same database %s", dsns[0])
			}
		})
	}
}
