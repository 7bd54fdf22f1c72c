package filesystem_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/filesystem"
	"wharf/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver { return newDriver(t, newRoot(t)) })
}

// newRoot returns a root that does not exist yet, so New has to create it.
func newRoot(t *testing.T) string {
	return filepath.Join(t.TempDir(), "wharf")
}

func newDriver(t *testing.T, root string) *filesystem.Driver {
	t.Helper()
	d, err := filesystem.New(root)
	if err != nil {
		t.Fatalf("New(%s): %v", root, err)
	}
	return d
}

func TestNewRejects(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{"", file, filepath.Join(file, "below")} {
		if _, err := filesystem.New(root); err == nil {
			t.Errorf("New(%q) succeeded", root)
		}
	}
}

func TestLayout(t *testing.T) {
	root := newRoot(t)
	d := newDriver(t, root)
	ctx := t.Context()
	id := storagetest.NewID()
	w, err := d.Upload(ctx, id, -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("layout"))
	staged := filepath.Join(root, "uploads", id)
	if data, err := os.ReadFile(staged); err != nil || string(data) != "layout" {
		t.Errorf("staged file %s = %q, %v", staged, data, err)
	}

	dgst := digest.SHA512.FromString("layout")
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	enc := dgst.Encoded()
	blob := filepath.Join(root, "blobs", "sha512", enc[:2], enc)
	if data, err := os.ReadFile(blob); err != nil || string(data) != "layout" {
		t.Errorf("blob file %s = %q, %v", blob, data, err)
	}
	if _, err := os.Stat(staged); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staged file survives Commit: %v", err)
	}
}

// TestStagedNeverVisible checks that bytes in uploads/ are not a blob, even
// when they are complete and their digest is known, until Commit.
func TestStagedNeverVisible(t *testing.T) {
	d := newDriver(t, newRoot(t))
	ctx := t.Context()
	content := []byte("complete but uncommitted")
	dgst := digest.SHA256.FromBytes(content)
	w, err := d.Upload(ctx, storagetest.NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	w.Close()
	if _, err := d.Stat(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat = %v, want ErrNotFound", err)
	}
	if _, err := d.Open(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open = %v, want ErrNotFound", err)
	}
	if got := walk(t, d); len(got) != 0 {
		t.Errorf("Walk lists %v", got)
	}
}

func TestPermissions(t *testing.T) {
	root := newRoot(t)
	d := newDriver(t, root)
	storagetest.Put(t, d, digest.SHA256, []byte("private"))
	storagetest.Put(t, d, digest.SHA512, []byte("private"))
	w, err := d.Upload(t.Context(), storagetest.NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("staged"))
	w.Close()

	seen := 0
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode(), want)
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 10 {
		t.Errorf("walked only %d entries", seen)
	}
}

// TestCrashRecovery simulates a process killed in the middle of an upload:
// the writer is never closed or committed, and a new Driver opens the same
// root. The partial bytes are not a blob, and the upload resumes.
func TestCrashRecovery(t *testing.T) {
	root := newRoot(t)
	content := bytes.Repeat([]byte("0123456789"), 10000)
	dgst := digest.SHA256.FromBytes(content)
	id := storagetest.NewID()
	acked := int64(40000)

	before := newDriver(t, root)
	w, err := before.Upload(t.Context(), id, -1)
	if err != nil {
		t.Fatal(err)
	}
	// Acknowledged part, then a request that died after 1234 more bytes.
	w.Write(content[:acked])
	w.Close()
	w, err = before.Upload(t.Context(), id, acked)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content[acked : acked+1234])
	// No Close, no Commit: the "process" dies here. The descriptor is only
	// released at the end of the test.
	t.Cleanup(func() { w.Close() })

	after := newDriver(t, root)
	ctx := t.Context()
	if _, err := after.Stat(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after crash = %v, want ErrNotFound", err)
	}
	if got := walk(t, after); len(got) != 0 {
		t.Errorf("Walk after crash lists %v", got)
	}
	ids, err := after.UploadIDs(ctx)
	if err != nil || len(ids) != 1 || ids[0] != id {
		t.Errorf("UploadIDs after crash = %v, %v; want [%s]", ids, err, id)
	}
	if _, err := after.Upload(ctx, id, acked+1235); !errors.Is(err, storage.ErrOffset) {
		t.Errorf("resume past the written bytes = %v, want ErrOffset", err)
	}
	w2, err := after.Upload(ctx, id, acked)
	if err != nil {
		t.Fatalf("resume after crash: %v", err)
	}
	if _, err := w2.Write(content[acked:]); err != nil {
		t.Fatal(err)
	}
	if err := w2.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	if got := storagetest.ReadBlob(t, after, dgst); !bytes.Equal(got, content) {
		t.Errorf("blob after recovery differs (%d bytes)", len(got))
	}
	if ids, _ := after.UploadIDs(ctx); len(ids) != 0 {
		t.Errorf("UploadIDs after Commit = %v", ids)
	}
}

// TestInvalidInputTouchesNothing checks that refused ids and digests create,
// remove or change nothing on disk, inside the root or next to it.
func TestInvalidInputTouchesNothing(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "wharf")
	d := newDriver(t, root)
	ctx := t.Context()
	storagetest.Put(t, d, digest.SHA256, []byte("existing"))
	if err := os.WriteFile(filepath.Join(parent, "passwd"), []byte("root:x:0:0"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, parent)

	passwd := digest.Digest("sha256:../../../passwd")
	d.Stat(ctx, passwd)
	d.Open(ctx, passwd)
	d.Delete(ctx, passwd)
	d.Delete(ctx, "sha256:..")
	for _, id := range []string{"../../passwd", "../x", "a/b", "", "../../../" + strings.Repeat("a", 20)} {
		d.Upload(ctx, id, -1)
		d.Upload(ctx, id, 0)
		d.CancelUpload(ctx, id)
	}
	if diff := cmp.Diff(want, snapshot(t, parent)); diff != "" {
		t.Errorf("disk changed (-before +after):\n%s", diff)
	}
}

// snapshot maps every path under dir to its mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			v += " " + string(data)
		}
		out[path] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUploadIDs(t *testing.T) {
	root := newRoot(t)
	d := newDriver(t, root)
	ctx := t.Context()
	ids := []string{"bbbbbbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaaaaaa"}
	for _, id := range ids {
		w, err := d.Upload(ctx, id, -1)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	storagetest.Put(t, d, digest.SHA256, []byte("committed uploads are not listed"))
	// Strays an operator might leave behind are not staged files, even
	// when their names look like upload ids.
	os.Mkdir(filepath.Join(root, "uploads", "cccccccccccccccccccc"), 0o700)
	os.Mkdir(filepath.Join(root, "uploads", "lost+found"), 0o700)
	os.WriteFile(filepath.Join(root, "uploads", "notes.txt"), nil, 0o600)
	os.Symlink(filepath.Join(root, "blobs"), filepath.Join(root, "uploads", "dddddddddddddddddddd"))

	got, err := d.UploadIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{ids[1], ids[0]}, got); diff != "" {
		t.Errorf("UploadIDs (-want +got):\n%s", diff)
	}
}

// TestWalkSkipsStrays checks that Walk reports only what Open can reach.
func TestWalkSkipsStrays(t *testing.T) {
	root := newRoot(t)
	d := newDriver(t, root)
	dgst := storagetest.Put(t, d, digest.SHA256, []byte("real"))

	misplaced := digest.SHA256.FromString("misplaced").Encoded()
	strays := []string{
		filepath.Join("sha256", "zz", "not-a-digest"),
		filepath.Join("sha256", "00", misplaced), // valid hex, wrong prefix directory
		filepath.Join("md5", "d4", "d41d8cd98f00b204e9800998ecf8427e"),
		"README",
	}
	if misplaced[:2] == "00" {
		t.Fatal("pick another misplaced digest")
	}
	for _, s := range strays {
		p := filepath.Join(root, "blobs", s)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("stray"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := map[digest.Digest]int64{dgst: 4}
	if diff := cmp.Diff(want, walk(t, d)); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

// TestBlobServesWithSendfile checks what lets io.Copy and http.ServeContent
// reach sendfile: the Blob is an *os.File underneath, it implements
// syscall.Conn (what net's sendfile path asserts), and copying a seeked,
// length-limited blob into a TCP connection sends exactly that range.
func TestBlobServesWithSendfile(t *testing.T) {
	d := newDriver(t, newRoot(t))
	content := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz"), 4096)
	dgst := storagetest.Put(t, d, digest.SHA256, content)

	b, err := d.Open(t.Context(), dgst)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fb, ok := b.(*filesystem.Blob)
	if !ok || fb.File == nil {
		t.Fatalf("Open returned %T, want *filesystem.Blob with its *os.File", b)
	}
	if _, ok := b.(syscall.Conn); !ok {
		t.Error("Blob does not implement syscall.Conn; sendfile is out of reach")
	}
	if _, ok := b.(io.WriterTo); !ok {
		t.Error("Blob does not implement io.WriterTo")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	defer ln.Close()
	received := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer c.Close()
		data, _ := io.ReadAll(c)
		received <- data
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	const start, n = 1000, 50000
	if _, err := b.Seek(start, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	// The same shape http.ServeContent uses for a range request.
	if written, err := io.CopyN(c, b, n); err != nil || written != n {
		t.Fatalf("CopyN = %d, %v", written, err)
	}
	c.Close()
	if got := <-received; !bytes.Equal(got, content[start:start+n]) {
		t.Errorf("received %d bytes, want content[%d:%d]", len(got), start, start+n)
	}
}

func walk(t *testing.T, d *filesystem.Driver) map[digest.Digest]int64 {
	t.Helper()
	got := make(map[digest.Digest]int64)
	err := d.Walk(t.Context(), func(dgst digest.Digest, size int64) error {
		got[dgst] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

// TestDirectoriesRemovedByHand checks that pushes keep working when an
// operator removes uploads/ or blobs/ under a running driver: the next
// upload and commit make them again, instead of failing until a restart.
func TestDirectoriesRemovedByHand(t *testing.T) {
	root := newRoot(t)
	d := newDriver(t, root)
	ctx := t.Context()
	before := storagetest.Put(t, d, digest.SHA256, []byte("before the clean-up"))
	for _, dir := range []string{"uploads", "blobs"} {
		if err := os.RemoveAll(filepath.Join(root, dir)); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := d.UploadIDs(ctx)
	if err != nil || len(ids) != 0 {
		t.Errorf("UploadIDs without uploads/ = %v, %v; want none, no error", ids, err)
	}
	content := []byte("after the clean-up")
	dgst := storagetest.Put(t, d, digest.SHA256, content)
	if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Errorf("blob read back = %q, want %q", got, content)
	}
	for _, dir := range []string{"uploads", "blobs"} {
		if fi, err := os.Stat(filepath.Join(root, dir)); err != nil || !fi.IsDir() {
			t.Errorf("%s/ not made again: %v", dir, err)
		}
	}
	// A blob whose prefix directory this driver made (and remembers) before
	// the clean-up: the commit renames into it without looking, and must
	// make it again when the rename finds it gone.
	for i := 0; ; i++ {
		same := []byte(fmt.Sprintf("same prefix %d", i))
		if digest.FromBytes(same).Encoded()[:2] != before.Encoded()[:2] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, "blobs")); err != nil {
			t.Fatal(err)
		}
		dgst := storagetest.Put(t, d, digest.SHA256, same)
		if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, same) {
			t.Errorf("blob in a prefix directory made again = %q, want %q", got, same)
		}
		break
	}
}
