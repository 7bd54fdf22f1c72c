package metadata_test

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/metadata/metadatatest"
)

func TestMariaDBConformance(t *testing.T) {
	m := servers.MariaDB(t)
	metadatatest.Run(t, func(t *testing.T) *metadata.Store {
		return openServer(t, "mysql", m.NewDatabase(t))
	})
}

func TestMariaDBServer(t *testing.T) {
	m := servers.MariaDB(t)
	metadatatest.RunServer(t, "mysql", func(t *testing.T) string { return m.NewDatabase(t) })
}

// TestMariaDBOpenErrors checks that bad DSNs fail with a clear error that
// never quotes the password.
func TestMariaDBOpenErrors(t *testing.T) {
	m := servers.MariaDB(t)
	good, err := mysql.ParseDSN(m.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	password := good.Passwd
	with := func(change func(c *mysql.Config)) string {
		c := good.Clone()
		change(c)
		return c.FormatDSN()
	}
	for _, tc := range []struct{ name, dsn, want string }{
		{"empty", "", "empty dsn"},
		{"unparsable, holding a password", "wharf:" + password + "@tcp(127.0.0.1:3306/db", "cannot be parsed"},
		{"no database", with(func(c *mysql.Config) { c.DBName = "" }), "names no database"},
		{"multiStatements", with(func(c *mysql.Config) { c.MultiStatements = true }), "multiStatements"},
		{"wrong password", with(func(c *mysql.Config) { c.Passwd = "s3cret-wrong-password" }), "Access denied"},
		{"unknown database", with(func(c *mysql.Config) { c.DBName = "no_such_database" }), "no_such_database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := metadata.Open(t.Context(), "mysql", tc.dsn, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open: got nil error")
			}
			for _, secret := range []string{password, "s3cret-wrong-password"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes a password: %v", err)
				}
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestMariaDBSchema checks what the conformance suite cannot see: every
// text column is utf8mb4 with a byte-order collation that does not pad,
// and the foreign keys exist (MySQL ignores them written inline).
func TestMariaDBSchema(t *testing.T) {
	dsn := servers.MariaDB(t).NewDatabase(t)
	openServer(t, "mysql", dsn)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var fks, texts, wrong int
	err = db.QueryRowContext(t.Context(), `SELECT
 (SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()),
 (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL),
 (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLLATION_NAME IS NOT NULL
    AND COLLATION_NAME NOT IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin'))`).Scan(&fks, &texts, &wrong)
	if err != nil {
		t.Fatal(err)
	}
	if fks != wantForeignKeys || texts == 0 || wrong != 0 {
		t.Errorf("schema: %d foreign keys (want %d), %d text columns, %d of them with another collation (want 0)", fks, wantForeignKeys, texts, wrong)
	}
}

// TestMariaDBInterruptedMigration: MySQL commits each CREATE at once, so a
// wharf killed in the middle of a migration leaves part of it behind. The
// next start completes it.
func TestMariaDBInterruptedMigration(t *testing.T) {
	dsn := servers.MariaDB(t).NewDatabase(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`CREATE TABLE repositories (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT repositories_name_key UNIQUE (name))`,
		`CREATE TABLE blobs (
    digest VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL PRIMARY KEY,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL)`,
	} {
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	s := openServer(t, "mysql", dsn)
	m := &metadata.Manifest{Repo: "app", Digest: digest.FromString("m"), MediaType: "m", Payload: []byte("m"), Size: 1}
	if err := s.PutManifest(t.Context(), m, []string{"v1"}); err != nil {
		t.Fatalf("PutManifest after completing the migration: %v", err)
	}
	if got, err := s.ResolveTag(t.Context(), "app", "v1"); err != nil || got != m.Digest {
		t.Errorf("ResolveTag = %s, %v", got, err)
	}
}
