package filesystem_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/storagetest"
)

// TestModTime: garbage collection ages a blob file without a record by the
// time its file was written.
func TestModTime(t *testing.T) {
	root := newRoot(t)
	d := newDriver(t, root)
	ctx := t.Context()
	w, err := d.Upload(ctx, storagetest.NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("aged"))
	dgst := digest.FromString("aged")
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	enc := dgst.Encoded()
	if err := os.Chtimes(filepath.Join(root, "blobs", "sha256", enc[:2], enc), old, old); err != nil {
		t.Fatal(err)
	}
	if got, err := d.ModTime(ctx, dgst); err != nil || !got.Equal(old) {
		t.Errorf("ModTime = %v, %v; want %v", got, err, old)
	}
	if _, err := d.ModTime(ctx, digest.FromString("absent")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("ModTime(absent) = %v, want ErrNotFound", err)
	}
}
