package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "metadata.db"), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// count returns the number of rows of table.
func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestSQLiteConnectionSettings(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	// Hold several connections at once so the settings are checked on more
	// than the one the migrations used. The lazy pool differs only in
	// synchronous.
	for _, pool := range []struct {
		name        string
		db          *sql.DB
		synchronous string
	}{{"main", s.db, "2" /* FULL */}, {"lazy", s.lazy, "1" /* NORMAL */}} {
		for i := range 3 {
			c, err := pool.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, tc := range []struct{ pragma, want string }{
				{"journal_mode", "wal"},
				{"foreign_keys", "1"},
				{"synchronous", pool.synchronous},
				{"busy_timeout", "10000"},
				{"cache_size", "-256"},
			} {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
					t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
				}
				if got != tc.want {
					t.Errorf("%s pool, connection %d: PRAGMA %s = %q, want %q", pool.name, i, tc.pragma, got, tc.want)
				}
			}
		}
	}
}

// TestGCTransactionsWidenTheCache: the collection's delete transactions
// run with gcCacheKiB of page cache on their SQLite connection (a batch's
// pages do not fit in the store's 256 KiB, which wrote them into the WAL
// before the commit and again after), and give it back before they end, so
// that no pooled connection keeps it.
func TestGCTransactionsWidenTheCache(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	cacheSize := func(c conn) string {
		t.Helper()
		var got string
		if err := c.queryRow(ctx, "PRAGMA cache_size").Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	err := s.inTx(ctx, func(c conn) error {
		restore, err := c.widenCache(ctx)
		if err != nil {
			return err
		}
		if got, want := cacheSize(c), fmt.Sprint(-gcCacheKiB); got != want {
			t.Errorf("cache_size in the transaction = %s, want %s", got, want)
		}
		if err := restore(); err != nil {
			return err
		}
		if got, want := cacheSize(c), fmt.Sprint(-sqliteCacheKiB); got != want {
			t.Errorf("cache_size after restore = %s, want %s", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Both delete transactions, then every connection of the pool.
	if _, err := s.DeleteGarbageBlobs(ctx, []digest.Digest{digest.FromString("none")}, SweepCheck{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteUntaggedBatch(ctx, "app", []digest.Digest{digest.FromString("none")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var conns []*sql.Conn
	for range maxSQLiteConns() {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		var got string
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint(-sqliteCacheKiB); got != want {
			t.Errorf("connection %d after the collection's transactions: cache_size = %s, want %s", i, got, want)
		}
	}
}

// TestQueryPlans fills the store with more than 10,000 rows and checks that
// the hot read queries search indexes: no table or index scan, no sort.
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	tags := make([]string, 10000)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%05d", i)
	}
	subject := digest.FromString("subject")
	for r := range 50 {
		repo := fmt.Sprintf("repo-%02d", r)
		for i := range 20 {
			m := &Manifest{Repo: repo, Digest: digest.FromString(fmt.Sprint(r, i)), MediaType: "m", ArtifactType: "a",
				Payload: []byte("x"), Size: 1, Subject: subject}
			var mtags []string
			if r == 0 && i == 0 {
				mtags = tags
			}
			if err := s.PutManifest(ctx, m, mtags); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddBlob(ctx, repo, digest.FromString(repo), 1); err != nil {
			t.Fatal(err)
		}
	}
	queries := []struct {
		name  string
		query string
		args  []any
	}{
		{"ResolveTag", resolveTagQuery, []any{"repo-00", "t05000"}},
		{"ListTags", listTagsQuery, []any{int64(1), "t05000", int64(100)}},
		{"ListRepositories", listRepositoriesQuery, []any{"repo-10", int64(100)}},
		{"Referrers", referrersQuery, []any{"repo-00", subject.String(), "", "a", "a", int64(501)}},
		{"Referrers after a cursor", referrersQuery, []any{"repo-00", subject.String(), digest.FromString("00").String(), "", "", int64(501)}},
		{"GetManifest", getManifestQuery, []any{"repo-00", digest.FromString("00").String()}},
		{"GetManifest refs", manifestRefsQuery, []any{"repo-00", digest.FromString("00").String()}},
		{"LookupManifest by tag", lookupByTagPayload, []any{"repo-00", "t05000"}},
		{"LookupManifest by digest", lookupByDigestPayload, []any{"repo-00", digest.FromString("00").String()}},
		{"RepoBlob", repoBlobQuery, []any{"repo-00", digest.FromString("repo-00").String()}},
		{"StaleUploads", staleUploadsQuery, []any{int64(0)}},
	}
	check := func(t *testing.T) {
		for _, q := range queries {
			plan := explain(t, s, q.query, q.args...)
			for _, line := range plan {
				if strings.HasPrefix(line, "SCAN ") || strings.Contains(line, "TEMP B-TREE") {
					t.Errorf("%s: query plan has %q:\n%s", q.name, line, strings.Join(plan, "\n"))
				}
			}
		}
	}
	t.Run("fresh", check)
	if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	t.Run("analyzed", check)
}

func explain(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestDeleteManifestRows checks the rows, not just what the API shows: a
// deleted manifest leaves no tag or reference behind.
func TestDeleteManifestRows(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	l := digest.FromString("layer")
	if err := s.AddBlob(ctx, "app", l, 5); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Repo: "app", Digest: digest.FromString("m"), MediaType: "m", Payload: []byte("m"), Size: 1,
		Refs: []Ref{{Digest: l, Kind: RefBlob}}}
	if err := s.PutManifest(ctx, m, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if got := []int{count(t, s, "manifests"), count(t, s, "tags"), count(t, s, "manifest_refs")}; !cmp.Equal(got, []int{1, 2, 1}) {
		t.Fatalf("rows before delete (manifests, tags, refs) = %v, want [1 2 1]", got)
	}
	if err := s.DeleteManifest(ctx, "app", m.Digest); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"manifests", "tags", "manifest_refs"} {
		if n := count(t, s, table); n != 0 {
			t.Errorf("%s has %d rows after DeleteManifest, want 0", table, n)
		}
	}
	if n := count(t, s, "repository_blobs"); n != 1 {
		t.Errorf("repository_blobs has %d rows, want 1 (blobs are GC's business)", n)
	}
}

// TestFailedPutWritesNothing checks every table, not just what the API shows.
func TestFailedPutWritesNothing(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	tables := []string{"repositories", "blobs", "repository_blobs", "manifests", "manifest_refs", "tags"}
	m := &Manifest{Repo: "new", Digest: digest.FromString("m"), MediaType: "m", Payload: []byte("m"), Size: 1,
		Refs: []Ref{{Digest: digest.FromString("missing"), Kind: RefBlob}}}
	err := s.PutManifest(ctx, m, []string{"latest"})
	if !errors.Is(err, ErrMissingReference) {
		t.Fatalf("PutManifest: %v, want ErrMissingReference", err)
	}
	for _, table := range tables {
		if n := count(t, s, table); n != 0 {
			t.Errorf("%s has %d rows after a failed PutManifest, want 0", table, n)
		}
	}
}

func TestMigrationsRecorded(t *testing.T) {
	s := openTest(t)
	all, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "schema_migrations"); n != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(all))
	}
	// Applying again is a no-op.
	if err := s.migrate(t.Context()); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if n := count(t, s, "schema_migrations"); n != len(all) {
		t.Errorf("schema_migrations has %d rows after a second migrate, want %d", n, len(all))
	}
}

func TestMigrationsRefuseNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metadata.db")
	s, err := Open(t.Context(), "sqlite", path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(t.Context(),
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), "sqlite", path, nil)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer wharf: got nil error")
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("error %q does not name the schema version", err)
	}
}

// TestMigrationFailureRollsBack checks that a broken migration leaves neither
// its tables nor its schema_migrations row.
func TestMigrationFailureRollsBack(t *testing.T) {
	s := openTest(t)
	bad := migration{version: 9000, name: "9000_bad.sql", sql: "CREATE TABLE half (id BIGINT);\nTHIS IS NOT SQL;\n"}
	err := s.applyMigrations(context.Background(), []migration{bad})
	if err == nil || !strings.Contains(err.Error(), "9000_bad.sql") {
		t.Fatalf("applyMigrations: %v, want an error naming the migration", err)
	}
	var n int
	if err := s.db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'").Scan(&n); err != nil || n != 0 {
		t.Errorf("table of the failed migration exists (%d, %v)", n, err)
	}
	if err := s.db.QueryRow("SELECT COUNT(*) FROM schema_migrations WHERE version = 9000").Scan(&n); err != nil || n != 0 {
		t.Errorf("failed migration recorded (%d, %v)", n, err)
	}
}

func TestLoadMigrations(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		want    []int64
		wantErr string
	}{
		{"ordered with a gap", fstest.MapFS{"m/0010_c.sql": file("c"), "m/0001_a.sql": file("a"), "m/0002_b.sql": file("b"),
			"m/README": file("ignored")}, []int64{1, 2, 10}, ""},
		{"duplicate version", fstest.MapFS{"m/0001_a.sql": file("a"), "m/001_b.sql": file("b")}, nil, "not after"},
		{"no version", fstest.MapFS{"m/init.sql": file("a")}, nil, "NNNN_description.sql"},
		{"version zero", fstest.MapFS{"m/0000_a.sql": file("a")}, nil, "NNNN_description.sql"},
		{"empty", fstest.MapFS{"m/README": file("x")}, nil, "no migrations"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := loadMigrations(tc.fsys, "m")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadMigrations: %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var versions []int64
			for _, m := range got {
				versions = append(versions, m.version)
			}
			if diff := cmp.Diff(tc.want, versions); diff != "" {
				t.Errorf("versions mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitStatements(t *testing.T) {
	src := `-- a comment; with a semicolon
CREATE TABLE a (
    id BIGINT -- trailing comments stay inside the statement
);

   -- indented comment
CREATE INDEX a_id ON a (id);
INSERT INTO a VALUES (1)`
	want := []string{
		"CREATE TABLE a (\n    id BIGINT -- trailing comments stay inside the statement\n)",
		"CREATE INDEX a_id ON a (id)",
		"INSERT INTO a VALUES (1)",
	}
	if diff := cmp.Diff(want, splitStatements(src)); diff != "" {
		t.Errorf("splitStatements mismatch (-want +got):\n%s", diff)
	}
}

func TestRenderSchema(t *testing.T) {
	got, err := sqliteDialect.renderSchema("id {{id}}, name {{key}}, p {{blob}}, t {{text}}")
	if err != nil {
		t.Fatal(err)
	}
	if want := "id INTEGER PRIMARY KEY, name TEXT COLLATE BINARY, p BLOB, t TEXT"; got != want {
		t.Errorf("renderSchema = %q, want %q", got, want)
	}
	if _, err := sqliteDialect.renderSchema("x {{json}}"); err == nil {
		t.Error("renderSchema with an unknown token: got nil error")
	}
}

func TestUpsertSQL(t *testing.T) {
	got := onConflictDoUpdate("tags", "repository_id, name, manifest_id", "repository_id, name", "manifest_id")
	want := "INSERT INTO tags (repository_id, name, manifest_id) VALUES (?, ?, ?) ON CONFLICT (repository_id, name) DO UPDATE SET manifest_id = excluded.manifest_id"
	if got != want {
		t.Errorf("onConflictDoUpdate =\n%s\nwant\n%s", got, want)
	}
	got = onConflictDoNothing("blobs", "digest, size", "digest")
	want = "INSERT INTO blobs (digest, size) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING"
	if got != want {
		t.Errorf("onConflictDoNothing =\n%s\nwant\n%s", got, want)
	}
}
