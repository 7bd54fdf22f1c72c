package metadata

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestChangeWatchReadsTheHeader checks that a SQLite store watches the
// WAL-index header (the fast way), also when its path is a symbolic link
// to the database file, and not the statement it falls back to.
func TestChangeWatchReadsTheHeader(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	link := filepath.Join(dir, "link.db")
	for _, path := range []string{real, link} {
		if path == link {
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(t.Context(), "sqlite", path, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if s.changes == nil || s.changes.shm == nil {
			t.Errorf("%s: the change watch does not read the -shm file", filepath.Base(path))
		}
		s.Close()
	}
}
