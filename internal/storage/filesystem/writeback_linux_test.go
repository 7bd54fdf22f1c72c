package filesystem_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"wharf/internal/storage"
	"wharf/internal/storage/storagetest"
)

// TestWriteBehind checks which uploads stream through the page cache and
// which stay in it, and that every byte is kept either way:
//   - a 144 MiB upload announced as large (Expect) keeps at most two 8 MiB
//     chunks cached while it is written, and none once Close synced it;
//   - an upload that grows past 128 MiB unannounced drops what it wrote so
//     far from then on;
//   - a resumed PATCH of a large upload leaves nothing cached;
//   - a 40 MiB upload and a small blob stay cached for the pulls that
//     usually follow a push.
func TestWriteBehind(t *testing.T) {
	root := newRoot(t)
	d := newDriver(t, root)
	ctx := t.Context()
	if isTmpfs(t, filepath.Dir(root)) {
		// tmpfs pages are the files themselves: nothing can drop them.
		t.Skipf("%s is tmpfs: the page cache cannot be observed there", root)
	}
	content := make([]byte, 144<<20)
	r := rand.NewChaCha8([32]byte{7})
	_, _ = r.Read(content)
	pages := func(n int) int { return n / os.Getpagesize() }
	atMost := func(path string, want int, what string) {
		t.Helper()
		if got := residentPages(t, path); got > want {
			t.Errorf("%s: %d pages in the page cache, want at most %d", what, got, want)
		}
	}
	atLeast := func(path string, want int, what string) {
		t.Helper()
		if got := residentPages(t, path); got < want {
			t.Errorf("%s: %d pages in the page cache, want at least %d", what, got, want)
		}
	}
	blobPath := func(dgst digest.Digest) string {
		return filepath.Join(root, "blobs", "sha256", dgst.Encoded()[:2], dgst.Encoded())
	}
	wantBytes := func(dgst digest.Digest, want []byte) {
		t.Helper()
		got, err := os.ReadFile(blobPath(dgst))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("committed blob differs from what was written (%d bytes, want %d)", len(got), len(want))
		}
	}

	t.Run("announced", func(t *testing.T) {
		id := storagetest.NewID()
		w, err := d.Upload(ctx, id, -1)
		if err != nil {
			t.Fatal(err)
		}
		w.(storage.Expecter).Expect(int64(len(content)))
		writeMiBs(t, w, content)
		atMost(filepath.Join(root, "uploads", id), pages(16<<20), "announced 144 MiB before Commit")
		dgst := digest.SHA256.FromBytes(content)
		if err := w.Commit(ctx, dgst); err != nil {
			t.Fatal(err)
		}
		atMost(blobPath(dgst), 0, "announced 144 MiB after Commit")
		wantBytes(dgst, content)
	})

	t.Run("grows large, then a PATCH", func(t *testing.T) {
		id := storagetest.NewID()
		staged := filepath.Join(root, "uploads", id)
		w, err := d.Upload(ctx, id, -1)
		if err != nil {
			t.Fatal(err)
		}
		first := content[:136<<20]
		writeMiBs(t, w, first)
		atMost(staged, pages(16<<20), "136 MiB unannounced, before Close")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		atMost(staged, 0, "136 MiB unannounced, after Close")
		w, err = d.Upload(ctx, id, int64(len(first)))
		if err != nil {
			t.Fatal(err)
		}
		w.(storage.Expecter).Expect(int64(len(content)))
		writeMiBs(t, w, content[len(first):])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		atMost(staged, 0, "8 MiB PATCH of a large upload, after Close")
		w, err = d.Upload(ctx, id, int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		dgst := digest.SHA256.FromBytes(content)
		if err := w.Commit(ctx, dgst); err != nil {
			t.Fatal(err)
		}
		wantBytes(dgst, content)
	})

	t.Run("medium and small stay cached", func(t *testing.T) {
		for _, blob := range [][]byte{content[:40<<20], []byte("a manifest-sized blob")} {
			w, err := d.Upload(ctx, storagetest.NewID(), -1)
			if err != nil {
				t.Fatal(err)
			}
			w.(storage.Expecter).Expect(int64(len(blob)))
			writeMiBs(t, w, blob)
			dgst := digest.SHA256.FromBytes(blob)
			if err := w.Commit(ctx, dgst); err != nil {
				t.Fatal(err)
			}
			want := (len(blob) + os.Getpagesize() - 1) / os.Getpagesize()
			atLeast(blobPath(dgst), want*9/10, fmt.Sprintf("%d-byte blob after Commit", len(blob)))
		}
	})
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
