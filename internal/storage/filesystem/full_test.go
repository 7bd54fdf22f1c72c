package filesystem_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/testserver"
)

// A write that finds the disk full is storage.ErrFull naming the disk; the
// bytes acknowledged before stay, and once space is freed the upload
// resumes from there and commits.
func TestFullDiskKeepsTheUploadResumable(t *testing.T) {
	disk := testserver.SmallDisk(t, "1m")
	d := newDriver(t, filepath.Join(disk, "blobs"))
	ctx := t.Context()
	const id = "full-disk-upload-0001"
	w, err := d.Upload(ctx, id, -1)
	if err != nil {
		t.Fatal(err)
	}
	first := bytes.Repeat([]byte("a"), 256<<10)
	if _, err := w.Write(first); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil { // acknowledged
		t.Fatal(err)
	}
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, make([]byte, 700<<10), 0o600); err != nil {
		t.Fatalf("fill the disk: %v", err)
	}
	w, err = d.Upload(ctx, id, int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write(bytes.Repeat([]byte("b"), 512<<10))
	if !errors.Is(err, storage.ErrFull) {
		t.Fatalf("write to a full disk: %v, want storage.ErrFull", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "tmpfs filesystem mounted at "+disk) || !strings.Contains(msg, " free of 1.0 MiB") {
		t.Errorf("the error does not name the disk and its space: %s", msg)
	}
	t.Logf("%v", err)
	_ = w.Close()

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	w, err = d.Upload(ctx, id, int64(len(first)))
	if err != nil {
		t.Fatalf("resume after space was freed: %v", err)
	}
	rest := bytes.Repeat([]byte("b"), 512<<10)
	if _, err := w.Write(rest); err != nil {
		t.Fatal(err)
	}
	dgst := digest.FromBytes(append(append([]byte(nil), first...), rest...))
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	if size, err := d.Stat(ctx, dgst); err != nil || size != int64(len(first)+len(rest)) {
		t.Errorf("Stat = %d, %v", size, err)
	}
}
