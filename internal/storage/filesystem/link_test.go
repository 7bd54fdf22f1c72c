package filesystem_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/filesystem"
)

// TestLinkUpload stages a file by a hard link, reads it back and commits it
// as a blob that shares the source's inode, leaving the source as it was;
// a symbolic link, or a path that is not the file the caller opened, is
// refused with ErrNotLinkable and leaves nothing staged.
func TestLinkUpload(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	d, err := filesystem.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("a layer from elsewhere")
	src := filepath.Join(dir, "data")
	if err := os.WriteFile(src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	const id = "import-0123456789abcdef0123456789abcdef"
	w, err := d.LinkUpload(ctx, id, src, want)
	if err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(len(content)) {
		t.Errorf("Size = %d, want %d", w.Size(), len(content))
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("a linked upload took a write: it would change the source's bytes")
	}
	rc, err := d.OpenUpload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	staged, _ := io.ReadAll(rc)
	rc.Close()
	if string(staged) != string(content) {
		t.Errorf("staged bytes = %q", staged)
	}
	dgst := digest.FromBytes(content)
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	b, err := d.Open(ctx, dgst)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := b.(*filesystem.Blob).Stat()
	b.Close()
	if !os.SameFile(fi, want) {
		t.Error("the committed blob is not the source's inode")
	}
	if got, _ := os.ReadFile(src); string(got) != string(content) {
		t.Errorf("source changed to %q", got)
	}

	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("not it"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "symlink")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"another file": other, "a symbolic link": link} {
		if _, err := d.LinkUpload(ctx, id, path, want); !errors.Is(err, storage.ErrNotLinkable) {
			t.Errorf("LinkUpload of %s = %v; want ErrNotLinkable", name, err)
		}
		if ids, _ := d.UploadIDs(ctx); len(ids) != 0 {
			t.Errorf("LinkUpload of %s left staged uploads %v", name, ids)
		}
	}
}
