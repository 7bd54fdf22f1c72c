package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

func TestFsckRefusals(t *testing.T) {
	t.Parallel()
	absent := filepath.Join(t.TempDir(), "typo")
	wantFail(t, "", "is not a wharf data directory that has served", "fsck", "--data", absent)
	if _, err := os.Stat(absent); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("wharf fsck created the data directory it was given: %v", err)
	}

	// A data directory wharf serve holds: checking is allowed, repairing not.
	held := t.TempDir()
	dir := datadir.New(held)
	if err := os.MkdirAll(dir.Blobs(), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := metadata.Open(t.Context(), "sqlite", dir.Database(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	lock, err := dir.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	if out, _, err := runCLI(t, "", "fsck", "--data", held); err != nil {
		t.Errorf("fsck of an empty registry beside its server: %v\n%s", err, out)
	}
	wantFail(t, "", "stop wharf serve first, or run without --repair", "fsck", "--repair", "--data", held)
	wantFail(t, "", "process "+strconv.Itoa(os.Getpid())+" ", "fsck", "--repair", "--data", held)
}
