package metadata_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/metadata/metadatatest"
)

// openServer opens a PostgreSQL or MySQL database and closes it at cleanup.
func openServer(t *testing.T, driver, dsn string) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), driver, dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open(%s): %v", driver, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func openSQLite(t *testing.T, path string) *metadata.Store {
	t.Helper()
	s, err := metadata.Open(t.Context(), "sqlite", path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLiteConformance(t *testing.T) {
	metadatatest.Run(t, func(t *testing.T) *metadata.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "metadata.db"))
	})
}

func TestSQLiteOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		driver string
		dsn    string
	}{
		{"unknown driver", "oracle", filepath.Join(dir, "a.db")},
		{"empty path", "sqlite", ""},
		{"query string", "sqlite", filepath.Join(dir, "a.db") + "?_foreign_keys=0"},
		{"URI", "sqlite", "file:" + filepath.Join(dir, "a.db")},
		{"in memory", "sqlite", ":memory:"},
		{"missing parent directory", "sqlite", filepath.Join(dir, "missing", "a.db")},
		{"path is a directory", "sqlite", dir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := metadata.Open(t.Context(), tc.driver, tc.dsn, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q, %q): got nil error", tc.driver, tc.dsn)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("Open created the missing parent directory: %v", err)
	}
}

// TestSQLiteFileModes: the database and its -wal and -shm files are
// readable by their owner only, whether the store creates the database in
// an existing directory or opens one an earlier version left 0644 (which
// is fixed, with a log line naming the file).
func TestSQLiteFileModes(t *testing.T) {
	t.Parallel()
	files := func(path string) []string { return []string{path, path + "-wal", path + "-shm"} }
	check := func(t *testing.T, path string) {
		t.Helper()
		for _, p := range files(path) {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%v (SQLite in WAL mode keeps -wal and -shm while open)", err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), got)
			}
		}
	}
	t.Run("new", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "wharf.db")
		var logs strings.Builder
		s, err := metadata.Open(t.Context(), "sqlite", path, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.AddBlob(t.Context(), "a/b", digest.FromString("x"), 1); err != nil {
			t.Fatal(err)
		}
		check(t, path)
		if strings.Contains(logs.String(), "open to group") {
			t.Errorf("a new database was reported:\n%s", logs.String())
		}
	})
	t.Run("existing 0644", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "wharf.db")
		s := openSQLite(t, path)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, p := range files(path) {
			if err := os.WriteFile(p, nil, 0o600); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var logs strings.Builder
		s, err := metadata.Open(t.Context(), "sqlite", path, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		check(t, path)
		want := path + " was open to group or others (mode 0644), now 0600"
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	})
}

// TestSQLiteReopen checks that data survives a restart and that opening an
// up-to-date database applies nothing.
func TestSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metadata.db")
	ctx := t.Context()
	s, err := metadata.Open(ctx, "sqlite", path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	d := digest.FromString("layer")
	if err := s.AddBlob(ctx, "app", d, 5); err != nil {
		t.Fatalf("AddBlob: %v", err)
	}
	m := &metadata.Manifest{Repo: "app", Digest: digest.FromString("manifest"), MediaType: "m", Payload: []byte("manifest"),
		Size: 8, Refs: []metadata.Ref{{Digest: d, Kind: metadata.RefBlob}}}
	if err := s.PutManifest(ctx, m, []string{"v1"}); err != nil {
		t.Fatalf("PutManifest: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openSQLite(t, path)
	got, err := s.ResolveTag(ctx, "app", "v1")
	if err != nil || got != m.Digest {
		t.Fatalf("ResolveTag after reopen = %s, %v; want %s", got, err, m.Digest)
	}
	if size, err := s.RepoBlob(ctx, "app", d); err != nil || size != 5 {
		t.Errorf("RepoBlob after reopen = %d, %v; want 5", size, err)
	}
}

// TestSQLiteTagListsAcrossProcesses: two stores on one database file (two
// wharf processes, or wharf and a CLI) — a tag list one has read, and keeps,
// shows the other's changes at once.
func TestSQLiteTagListsAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metadata.db")
	ctx := t.Context()
	a, b := openSQLite(t, path), openSQLite(t, path)
	d := digest.FromString("layer")
	if err := a.AddBlob(ctx, "app", d, 5); err != nil {
		t.Fatal(err)
	}
	m := &metadata.Manifest{Repo: "app", Digest: digest.FromString("manifest"), MediaType: "m", Payload: []byte("manifest"),
		Size: 8, Refs: []metadata.Ref{{Digest: d, Kind: metadata.RefBlob}}}
	if err := a.PutManifest(ctx, m, []string{"v1"}); err != nil {
		t.Fatal(err)
	}
	list := func(s *metadata.Store) string {
		t.Helper()
		tags, err := s.ListTags(ctx, "app", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(tags, ",")
	}
	if got := list(a); got != "v1" {
		t.Fatalf("a lists %q, want v1", got)
	}
	if err := b.PutManifest(ctx, m, []string{"v2"}); err != nil {
		t.Fatal(err)
	}
	if got := list(a); got != "v1,v2" {
		t.Errorf("after b tagged v2, a lists %q, want v1,v2", got)
	}
	if err := b.DeleteTag(ctx, "app", "v1"); err != nil {
		t.Fatal(err)
	}
	if got := list(a); got != "v2" {
		t.Errorf("after b deleted v1, a lists %q, want v2", got)
	}
}
