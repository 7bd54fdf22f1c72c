package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	// Registered so the suite can compute sha512 digests on its own.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

// Run runs the conformance suite against the driver newDriver returns. Every
// subtest gets a fresh driver and runs in parallel with the others, so
// newDriver must not share state between calls (use t.TempDir).
func Run(t *testing.T, newDriver func(t *testing.T) storage.Driver) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, d storage.Driver)
	}{
		{"CommitThenRead", testCommitThenRead},
		{"SHA512", testSHA512},
		{"EmptyBlob", testEmptyBlob},
		{"ManySmallWrites", testManySmallWrites},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"InvalidDigests", testInvalidDigests},
		{"CommitExisting", testCommitExisting},
		{"ConcurrentCommits", testConcurrentCommits},
		{"Walk", testWalk},
		{"WalkStops", testWalkStops},
		{"Resume", testResume},
		{"ResumeTruncates", testResumeTruncates},
		{"ResumeBeyondSize", testResumeBeyondSize},
		{"ResumeMissing", testResumeMissing},
		{"CreateExisting", testCreateExisting},
		{"Cancel", testCancel},
		{"CancelUpload", testCancelUpload},
		{"InvalidIDs", testInvalidIDs},
		{"ValidIDBounds", testValidIDBounds},
		{"FinishedWriter", testFinishedWriter},
		{"StagedInvisible", testStagedInvisible},
		{"OpenUpload", testOpenUpload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newDriver(t))
		})
	}
}

// NewID returns a fresh upload id of the kind the registry generates.
func NewID() string { return rand.Text() }

// Put stores content as a blob of algorithm alg through a new upload and
// returns its digest.
func Put(t testing.TB, d storage.Driver, alg digest.Algorithm, content []byte) digest.Digest {
	t.Helper()
	ctx := t.Context()
	dgst := alg.FromBytes(content)
	w, err := d.Upload(ctx, NewID(), -1)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatalf("Commit(%s): %v", dgst, err)
	}
	return dgst
}

// ReadBlob opens dgst, checks that Size and Stat agree, and returns its
// bytes.
func ReadBlob(t testing.TB, d storage.Driver, dgst digest.Digest) []byte {
	t.Helper()
	ctx := t.Context()
	b, err := d.Open(ctx, dgst)
	if err != nil {
		t.Fatalf("Open(%s): %v", dgst, err)
	}
	defer b.Close()
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("read %s: %v", dgst, err)
	}
	if b.Size() != int64(len(got)) {
		t.Errorf("Size() = %d, read %d bytes", b.Size(), len(got))
	}
	size, err := d.Stat(ctx, dgst)
	if err != nil || size != int64(len(got)) {
		t.Errorf("Stat(%s) = %d, %v; want %d", dgst, size, err, len(got))
	}
	return got
}

func testCommitThenRead(t *testing.T, d storage.Driver) {
	content := []byte("hello, wharf")
	dgst := Put(t, d, digest.SHA256, content)
	if got := ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Fatalf("read %q, want %q", got, content)
	}

	b, err := d.Open(t.Context(), dgst)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	seeks := []struct {
		offset int64
		whence int
		want   string
	}{
		{7, io.SeekStart, "wharf"},
		{-5, io.SeekEnd, "wharf"},
		{0, io.SeekStart, "hello, wharf"},
		{int64(len(content)), io.SeekStart, ""},
	}
	for _, s := range seeks {
		if _, err := b.Seek(s.offset, s.whence); err != nil {
			t.Fatalf("Seek(%d, %d): %v", s.offset, s.whence, err)
		}
		got, err := io.ReadAll(b)
		if err != nil || string(got) != s.want {
			t.Errorf("after Seek(%d, %d) read %q, %v; want %q", s.offset, s.whence, got, err, s.want)
		}
	}
	// Seek relative to the current position, as range requests do.
	b.Seek(0, io.SeekStart)
	head := make([]byte, 5)
	io.ReadFull(b, head)
	if pos, err := b.Seek(2, io.SeekCurrent); err != nil || pos != 7 {
		t.Errorf("Seek(2, SeekCurrent) = %d, %v; want 7", pos, err)
	}
}

func testSHA512(t *testing.T, d storage.Driver) {
	content := []byte("a blob addressed by sha512")
	dgst := Put(t, d, digest.SHA512, content)
	if got := ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Fatalf("read %q, want %q", got, content)
	}
	// The same bytes under another algorithm are another key.
	if _, err := d.Stat(t.Context(), digest.SHA256.FromBytes(content)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(sha256 of same bytes) = %v, want ErrNotFound", err)
	}
}

func testEmptyBlob(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	dgst := digest.SHA256.FromBytes(nil)
	w, err := d.Upload(ctx, NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if w.Size() != 0 {
		t.Errorf("new upload Size() = %d", w.Size())
	}
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	if got := ReadBlob(t, d, dgst); len(got) != 0 {
		t.Fatalf("empty blob read %q", got)
	}
}

func testManySmallWrites(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	content := make([]byte, 1<<20+17)
	rand.Read(content)
	w, err := d.Upload(ctx, NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	for rest := content; len(rest) > 0; {
		n := min(len(rest), 999)
		if m, err := w.Write(rest[:n]); err != nil || m != n {
			t.Fatalf("Write = %d, %v", m, err)
		}
		rest = rest[n:]
	}
	if w.Size() != int64(len(content)) {
		t.Errorf("Size() = %d, want %d", w.Size(), len(content))
	}
	dgst := digest.SHA256.FromBytes(content)
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	if got := ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes back, content differs", len(got))
	}
}

func testNotFound(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	for _, dgst := range []digest.Digest{
		digest.SHA256.FromString("absent"),
		digest.SHA512.FromString("absent"),
	} {
		if _, err := d.Stat(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat(%s) = %v, want ErrNotFound", dgst, err)
		}
		if b, err := d.Open(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Open(%s) = %v, want ErrNotFound", dgst, err)
			if b != nil {
				b.Close()
			}
		}
		if err := d.Delete(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Delete(%s) = %v, want ErrNotFound", dgst, err)
		}
	}
}

func testDelete(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	gone := Put(t, d, digest.SHA256, []byte("to be deleted"))
	kept := Put(t, d, digest.SHA256, []byte("to be kept"))
	if err := d.Delete(ctx, gone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := d.Stat(ctx, gone); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after Delete = %v, want ErrNotFound", err)
	}
	if _, err := d.Open(ctx, gone); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open after Delete = %v, want ErrNotFound", err)
	}
	if err := d.Delete(ctx, gone); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if got := ReadBlob(t, d, kept); string(got) != "to be kept" {
		t.Errorf("other blob reads %q after Delete", got)
	}
	// A deleted blob can be pushed again.
	Put(t, d, digest.SHA256, []byte("to be deleted"))
	ReadBlob(t, d, gone)
}

// invalidDigests are refused by every method that takes a digest, before a
// driver uses them as a key or a path.
func invalidDigests() []digest.Digest {
	hex := digest.SHA256.FromString("x").Encoded()
	return []digest.Digest{
		"",
		"sha256",
		"sha256:",
		":" + digest.Digest(hex),
		"sha256:../../../../etc/passwd",
		"sha256:" + digest.Digest(strings.ToUpper(hex)),
		"sha256:" + digest.Digest(hex[:63]),
		"sha256:" + digest.Digest(hex) + "0",
		"sha256:" + digest.Digest(hex) + "/..",
		"sha256:" + digest.Digest(hex) + "\x00",
		"../sha256:" + digest.Digest(hex),
		"sha256/../../x:" + digest.Digest(hex),
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		"sha512:" + digest.Digest(hex), // sha256 length under sha512
		digest.Digest("sha256:" + strings.Repeat("a", 10000)),
	}
}

func isDigestError(err error) bool {
	return errors.Is(err, digest.ErrDigestInvalidFormat) ||
		errors.Is(err, digest.ErrDigestInvalidLength) ||
		errors.Is(err, digest.ErrDigestUnsupported)
}

func testInvalidDigests(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	for _, dgst := range invalidDigests() {
		if _, err := d.Stat(ctx, dgst); !isDigestError(err) {
			t.Errorf("Stat(%.80q) = %v, want a digest error", dgst, err)
		}
		if b, err := d.Open(ctx, dgst); !isDigestError(err) {
			t.Errorf("Open(%.80q) = %v, want a digest error", dgst, err)
			if b != nil {
				b.Close()
			}
		}
		if err := d.Delete(ctx, dgst); !isDigestError(err) {
			t.Errorf("Delete(%.80q) = %v, want a digest error", dgst, err)
		}

		// A refused Commit releases the writer and keeps the upload.
		id := NewID()
		w, err := d.Upload(ctx, id, -1)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("staged"))
		if err := w.Commit(ctx, dgst); !isDigestError(err) {
			t.Errorf("Commit(%.80q) = %v, want a digest error", dgst, err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close after refused Commit = %v", err)
		}
		w, err = d.Upload(ctx, id, 6)
		if err != nil {
			t.Fatalf("resume after refused Commit: %v", err)
		}
		w.Close()
	}
	if l, ok := d.(storage.Lister); ok {
		if got := walk(t, l); len(got) != 0 {
			t.Errorf("blobs after invalid digests: %v", got)
		}
	}
}

func testCommitExisting(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	content := []byte("pushed twice")
	dgst := Put(t, d, digest.SHA256, content)

	id := NewID()
	w, err := d.Upload(ctx, id, -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatalf("Commit of an existing blob: %v", err)
	}
	if _, err := d.Upload(ctx, id, 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("upload after Commit of existing blob: %v, want ErrNotFound", err)
	}
	if got := ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Errorf("read %q, want %q", got, content)
	}
	if l, ok := d.(storage.Lister); ok {
		want := map[digest.Digest]int64{dgst: int64(len(content))}
		if diff := cmp.Diff(want, walk(t, l)); diff != "" {
			t.Errorf("Walk (-want +got):\n%s", diff)
		}
	}
}

// testConcurrentCommits pushes one blob from 16 uploads at once while a
// reader polls it: every commit succeeds, and whenever Open succeeds the
// blob is already complete.
func testConcurrentCommits(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	content := bytes.Repeat([]byte("concurrent layer "), 4096)
	dgst := digest.SHA256.FromBytes(content)

	writers := make([]storage.Writer, 16)
	for i := range writers {
		w, err := d.Upload(ctx, NewID(), -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(content); err != nil {
			t.Fatal(err)
		}
		writers[i] = w
	}

	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := d.Open(ctx, dgst)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				t.Errorf("Open during commits: %v", err)
				return
			}
			got, err := io.ReadAll(b)
			b.Close()
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("read %d bytes, %v during commits; want the complete blob", len(got), err)
				return
			}
		}
	})

	start := make(chan struct{})
	var committers sync.WaitGroup
	for _, w := range writers {
		committers.Go(func() {
			<-start
			if err := w.Commit(ctx, dgst); err != nil {
				t.Errorf("concurrent Commit: %v", err)
			}
		})
	}
	close(start)
	committers.Wait()
	close(stop)
	reader.Wait()

	if got := ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes back, content differs", len(got))
	}
	if l, ok := d.(storage.Lister); ok {
		want := map[digest.Digest]int64{dgst: int64(len(content))}
		if diff := cmp.Diff(want, walk(t, l)); diff != "" {
			t.Errorf("Walk (-want +got):\n%s", diff)
		}
	}
}

// walk collects what l.Walk reports, failing on duplicates.
func walk(t testing.TB, l storage.Lister) map[digest.Digest]int64 {
	t.Helper()
	got := make(map[digest.Digest]int64)
	err := l.Walk(t.Context(), func(dgst digest.Digest, size int64) error {
		if _, dup := got[dgst]; dup {
			t.Errorf("Walk reported %s twice", dgst)
		}
		got[dgst] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

func testWalk(t *testing.T, d storage.Driver) {
	l, ok := d.(storage.Lister)
	if !ok {
		t.Skip("driver does not implement storage.Lister")
	}
	ctx := t.Context()
	if got := walk(t, l); len(got) != 0 {
		t.Errorf("Walk on an empty driver: %v", got)
	}
	want := map[digest.Digest]int64{
		Put(t, d, digest.SHA256, []byte("one")):        3,
		Put(t, d, digest.SHA512, []byte("two bytes")):  9,
		Put(t, d, digest.SHA256, nil):                  0,
		Put(t, d, digest.SHA256, []byte("four score")): 10,
	}
	deleted := Put(t, d, digest.SHA256, []byte("deleted"))
	if err := d.Delete(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	w, err := d.Upload(ctx, NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("staged, never committed"))
	w.Close()

	if diff := cmp.Diff(want, walk(t, l)); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func testWalkStops(t *testing.T, d storage.Driver) {
	l, ok := d.(storage.Lister)
	if !ok {
		t.Skip("driver does not implement storage.Lister")
	}
	for _, s := range []string{"a", "b", "c"} {
		Put(t, d, digest.SHA256, []byte(s))
	}
	stop := errors.New("stop here")
	calls := 0
	err := l.Walk(t.Context(), func(digest.Digest, int64) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Walk = %v after %d calls; want the callback's error after 1", err, calls)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.Walk(ctx, func(digest.Digest, int64) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a cancelled context = %v, want context.Canceled", err)
	}
}
