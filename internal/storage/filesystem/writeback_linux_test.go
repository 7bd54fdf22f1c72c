package filesystem_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"wharf/internal/storage/storagetest"
)

// TestWriteBehind pushes a 40 MiB blob in two sessions (a PATCH that stops
// at 20 MiB, then a resumed writer) and a small blob. The large blob keeps
// every byte, and leaves the page cache as it is written: at most two
// chunks cached while it is written, none once a session's fsync is done.
// The small blob stays cached.
func TestWriteBehind(t *testing.T) {
	root := newRoot(t)
	d := newDriver(t, root)
	ctx := t.Context()
	content := make([]byte, 40<<20)
	r := rand.NewChaCha8([32]byte{7})
	_, _ = r.Read(content)
	dgst := digest.SHA256.FromBytes(content)
	id := storagetest.NewID()
	staged := filepath.Join(root, "uploads", id, "data")
	// tmpfs pages are the file itself: nothing drops them, so only the
	// bytes are checked there.
	cached := func(path string, want int, what string) {
		t.Helper()
		if isTmpfs(t, root) {
			return
		}
		if got := residentPages(t, path); got > want {
			t.Errorf("%s: %d pages in the page cache, want at most %d", what, got, want)
		}
	}
	pages := func(n int) int { return n / os.Getpagesize() }

	w, err := d.Upload(ctx, id, -1)
	if err != nil {
		t.Fatal(err)
	}
	writeMiBs(t, w, content[:20<<20])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cached(staged, 0, "first 20 MiB after Close")

	w, err = d.Upload(ctx, id, 20<<20)
	if err != nil {
		t.Fatal(err)
	}
	writeMiBs(t, w, content[20<<20:])
	cached(staged, pages(16<<20), "40 MiB before Commit")
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "blobs", "sha256", dgst.Encoded()[:2], dgst.Encoded())
	cached(path, 0, "committed 40 MiB blob")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("committed blob differs from what was written (%d bytes, want %d)", len(got), len(content))
	}

	small := []byte("a manifest-sized blob")
	w, err = d.Upload(ctx, storagetest.NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(small)
	sd := digest.SHA256.FromBytes(small)
	if err := w.Commit(ctx, sd); err != nil {
		t.Fatal(err)
	}
	if !isTmpfs(t, root) {
		if n := residentPages(t, filepath.Join(root, "blobs", "sha256", sd.Encoded()[:2], sd.Encoded())); n != 1 {
			t.Errorf("small blob: %d pages cached, want 1", n)
		}
	}
}

// writeMiBs writes p in 1 MiB writes, as the registry's copy does.
func writeMiBs(t *testing.T, w io.Writer, p []byte) {
	t.Helper()
	for len(p) > 0 {
		n := min(len(p), 1<<20)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
}

// residentPages counts the pages of the file at path that are in the page
// cache (mincore over a read-only mapping).
func residentPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	pg := os.Getpagesize()
	vec := make([]byte, (len(m)+pg-1)/pg)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

func isTmpfs(t *testing.T, dir string) bool {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Type == unix.TMPFS_MAGIC
}
