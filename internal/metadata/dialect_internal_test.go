package metadata

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMySQLInsertSQL(t *testing.T) {
	got := onDuplicateKeyUpdate("tags", "repository_id, name, manifest_id", "repository_id, name", "manifest_id", "updated_at")
	want := "INSERT INTO tags (repository_id, name, manifest_id) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE manifest_id = VALUES(manifest_id), updated_at = VALUES(updated_at)"
	if got != want {
		t.Errorf("onDuplicateKeyUpdate =\n%s\nwant\n%s", got, want)
	}
	got = onDuplicateKeyNothing("repository_blobs", "repository_id, blob_digest, created_at", "repository_id, blob_digest")
	want = "INSERT INTO repository_blobs (repository_id, blob_digest, created_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE repository_id = repository_id"
	if got != want {
		t.Errorf("onDuplicateKeyNothing =\n%s\nwant\n%s", got, want)
	}
}

func TestDollarPlaceholders(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"a = $1 AND b = $2", "a = $1 AND b = $2"}, // rebound already: kept as is
		{"(? = '' OR t = ?)", "($1 = '' OR t = $2)"},
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
		{`x = 'it''s ?' AND "odd?col" = ? AND z = ?`, `x = 'it''s ?' AND "odd?col" = $1 AND z = $2`},
		{"? ? ? ? ? ? ? ? ? ? ?", "$1 $2 $3 $4 $5 $6 $7 $8 $9 $10 $11"},
	} {
		if got := dollarPlaceholders(tc.in); got != tc.want {
			t.Errorf("dollarPlaceholders(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTableForeignKeys(t *testing.T) {
	in := `CREATE TABLE tags (
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    name          VARCHAR(255) NOT NULL,
    manifest_id   BIGINT NOT NULL REFERENCES manifests (id),
    PRIMARY KEY (repository_id, name)
)`
	want := `CREATE TABLE tags (
    repository_id BIGINT NOT NULL,
    name          VARCHAR(255) NOT NULL,
    manifest_id   BIGINT NOT NULL,
    PRIMARY KEY (repository_id, name),
    FOREIGN KEY (repository_id) REFERENCES repositories (id) ON DELETE CASCADE,
    FOREIGN KEY (manifest_id) REFERENCES manifests (id)
)`
	if diff := cmp.Diff(want, tableForeignKeys(in)); diff != "" {
		t.Errorf("tableForeignKeys mismatch (-want +got):\n%s", diff)
	}
	// The last column carries the reference.
	in = "CREATE TABLE x (\n    a BIGINT,\n    b BIGINT REFERENCES y (id) ON DELETE SET NULL\n)"
	want = "CREATE TABLE x (\n    a BIGINT,\n    b BIGINT,\n    FOREIGN KEY (b) REFERENCES y (id) ON DELETE SET NULL\n)"
	if diff := cmp.Diff(want, tableForeignKeys(in)); diff != "" {
		t.Errorf("tableForeignKeys mismatch (-want +got):\n%s", diff)
	}
	for _, unchanged := range []string{
		"CREATE INDEX a ON b (c)",
		"CREATE TABLE x (\n    a BIGINT\n)",
		"ALTER TABLE x ADD COLUMN y BIGINT REFERENCES z (id)",
	} {
		if got := tableForeignKeys(unchanged); got != unchanged {
			t.Errorf("tableForeignKeys(%q) = %q, want it unchanged", unchanged, got)
		}
	}
}

// TestMigrationsRender renders every embedded migration for every dialect:
// no token is left, and MySQL keeps no inline REFERENCES (which it would
// silently ignore).
func TestMigrationsRender(t *testing.T) {
	all, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*dialect{&sqliteDialect, &postgresDialect, mysqlDialect("utf8mb4_nopad_bin")} {
		for _, m := range all {
			for _, stmt := range splitStatements(m.sql) {
				out, err := d.renderSchema(stmt)
				if err != nil {
					t.Errorf("%s: %s: %v", d.name, m.name, err)
					continue
				}
				if d.schema != nil {
					out = d.schema(out)
				}
				if d.name == "mysql" {
					for line := range strings.Lines(out) {
						if strings.Contains(line, "REFERENCES") && !strings.Contains(line, "FOREIGN KEY") {
							t.Errorf("mysql: %s: inline reference left:\n%s", m.name, out)
						}
					}
				}
			}
		}
	}
}
