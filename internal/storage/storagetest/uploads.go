package storagetest

import (
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

// stage creates upload id holding content and closes its writer, as a
// finished PATCH request does.
func stage(t testing.TB, d storage.Driver, id, content string) {
	t.Helper()
	w, err := d.Upload(t.Context(), id, -1)
	if err != nil {
		t.Fatalf("Upload(%s, -1): %v", id, err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// resume reopens upload id at offset, checks Size, and appends content.
func resume(t testing.TB, d storage.Driver, id string, offset int64, content string) storage.Writer {
	t.Helper()
	w, err := d.Upload(t.Context(), id, offset)
	if err != nil {
		t.Fatalf("Upload(%s, %d): %v", id, offset, err)
	}
	if w.Size() != offset {
		t.Errorf("resumed Size() = %d, want %d", w.Size(), offset)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if want := offset + int64(len(content)); w.Size() != want {
		t.Errorf("Size() after Write = %d, want %d", w.Size(), want)
	}
	return w
}

func commit(t testing.TB, w storage.Writer, want string) digest.Digest {
	t.Helper()
	dgst := digest.SHA256.FromString(want)
	if err := w.Commit(t.Context(), dgst); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return dgst
}

func testResume(t *testing.T, d storage.Driver) {
	id := NewID()
	stage(t, d, id, "hello")
	resume(t, d, id, 5, " world").Close()
	// A request that died half way: its bytes were written but the client
	// was never told, so it resumes at the last acknowledged offset.
	resume(t, d, id, 11, " GARBAGE").Close()
	w := resume(t, d, id, 11, "!")
	dgst := commit(t, w, "hello world!")
	if got := ReadBlob(t, d, dgst); string(got) != "hello world!" {
		t.Errorf("read %q, want %q", got, "hello world!")
	}
	if _, err := d.Upload(t.Context(), id, 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Upload after Commit = %v, want ErrNotFound", err)
	}
}

func testResumeTruncates(t *testing.T, d storage.Driver) {
	id := NewID()
	stage(t, d, id, "hello")
	w := resume(t, d, id, 3, "p!")
	if got := ReadBlob(t, d, commit(t, w, "help!")); string(got) != "help!" {
		t.Errorf("read %q, want %q", got, "help!")
	}

	id = NewID()
	stage(t, d, id, "discard all of this")
	w = resume(t, d, id, 0, "")
	if got := ReadBlob(t, d, commit(t, w, "")); len(got) != 0 {
		t.Errorf("read %q, want nothing", got)
	}
}

func testResumeBeyondSize(t *testing.T, d storage.Driver) {
	id := NewID()
	stage(t, d, id, "hello")
	for _, offset := range []int64{6, 1 << 40} {
		if _, err := d.Upload(t.Context(), id, offset); !errors.Is(err, storage.ErrOffset) {
			t.Errorf("Upload(%d) on 5 bytes = %v, want ErrOffset", offset, err)
		}
	}
	// The refused resume left the staged bytes alone.
	w := resume(t, d, id, 5, "!")
	if got := ReadBlob(t, d, commit(t, w, "hello!")); string(got) != "hello!" {
		t.Errorf("read %q, want %q", got, "hello!")
	}
}

func testResumeMissing(t *testing.T, d storage.Driver) {
	for _, offset := range []int64{0, 10} {
		if _, err := d.Upload(t.Context(), NewID(), offset); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Upload(unknown, %d) = %v, want ErrNotFound", offset, err)
		}
	}
}

func testCreateExisting(t *testing.T, d storage.Driver) {
	id := NewID()
	stage(t, d, id, "first")
	if _, err := d.Upload(t.Context(), id, -1); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Upload(%s, -1) = %v, want fs.ErrExist", id, err)
	}
	w := resume(t, d, id, 5, "")
	if got := ReadBlob(t, d, commit(t, w, "first")); string(got) != "first" {
		t.Errorf("read %q, want %q", got, "first")
	}
}

func testCancel(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	id := NewID()
	w, err := d.Upload(ctx, id, -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("cancelled"))
	if err := w.Cancel(ctx); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if _, err := d.Upload(ctx, id, 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Upload after Cancel = %v, want ErrNotFound", err)
	}
	if _, err := d.Stat(ctx, digest.SHA256.FromString("cancelled")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat of cancelled content = %v, want ErrNotFound", err)
	}
	// The id is free again.
	stage(t, d, id, "again")
	w = resume(t, d, id, 5, "")
	w.Cancel(ctx)
}

func testCancelUpload(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	id := NewID()
	stage(t, d, id, "staged")
	if err := d.CancelUpload(ctx, id); err != nil {
		t.Fatalf("CancelUpload: %v", err)
	}
	if _, err := d.Upload(ctx, id, 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Upload after CancelUpload = %v, want ErrNotFound", err)
	}
	if err := d.CancelUpload(ctx, id); err != nil {
		t.Errorf("second CancelUpload = %v, want nil", err)
	}
	if err := d.CancelUpload(ctx, NewID()); err != nil {
		t.Errorf("CancelUpload of an unknown id = %v, want nil", err)
	}

	// A writer whose upload was cancelled under it cannot publish it.
	id = NewID()
	w, err := d.Upload(ctx, id, -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("orphan"))
	if err := d.CancelUpload(ctx, id); err != nil {
		t.Fatal(err)
	}
	dgst := digest.SHA256.FromString("orphan")
	if err := w.Commit(ctx, dgst); err == nil {
		t.Error("Commit after CancelUpload succeeded")
	}
	if _, err := d.Stat(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat after cancelled Commit = %v, want ErrNotFound", err)
	}
}

// invalidIDs must never reach a key or a path.
var invalidIDs = []string{
	"",
	"short",
	"../x",
	"a/b",
	"../../../../../../etc/passwd",
	"..%2f..%2f..%2fetc%2fpasswd",
	"abcdefghijklmnop/",
	"/abcdefghijklmnop",
	"abcdefghijklmnop\\x",
	"abcdefgh.ijklmnop",
	"abcdefgh ijklmnop",
	"abcdefgh\x00ijklmnop",
	"abcdefghijklmnop\n",
	"ünïcödé-ünïcödé-ünïcödé",
	strings.Repeat("a", 129),
	strings.Repeat("a", 1<<16),
}

func testInvalidIDs(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	for _, id := range invalidIDs {
		for _, offset := range []int64{-1, 0} {
			if w, err := d.Upload(ctx, id, offset); !errors.Is(err, storage.ErrInvalidID) {
				t.Errorf("Upload(%.40q, %d) = %v, want ErrInvalidID", id, offset, err)
				if w != nil {
					w.Cancel(ctx)
				}
			}
		}
		if err := d.CancelUpload(ctx, id); !errors.Is(err, storage.ErrInvalidID) {
			t.Errorf("CancelUpload(%.40q) = %v, want ErrInvalidID", id, err)
		}
	}
}

func testValidIDBounds(t *testing.T, d storage.Driver) {
	for _, id := range []string{
		strings.Repeat("a", 16),
		strings.Repeat("Z", 128),
		"0123456789_-abcXYZ",
		"6ba7b810-9dad-11d1-80b4-00c04fd430c8", // a UUID
	} {
		stage(t, d, id, "ok")
		if err := d.CancelUpload(t.Context(), id); err != nil {
			t.Errorf("CancelUpload(%q): %v", id, err)
		}
	}
}

// testFinishedWriter pins down what a writer does after Close, Commit and
// Cancel: further writes and commits fail, and Close stays a no-op so that
// `defer w.Close()` is safe.
func testFinishedWriter(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	finish := map[string]func(storage.Writer) error{
		"Close":  func(w storage.Writer) error { return w.Close() },
		"Commit": func(w storage.Writer) error { return w.Commit(ctx, digest.SHA256.FromString("x")) },
		"Cancel": func(w storage.Writer) error { return w.Cancel(ctx) },
	}
	for name, fn := range finish {
		w, err := d.Upload(ctx, NewID(), -1)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
		if err := fn(w); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := w.Write([]byte("more")); err == nil {
			t.Errorf("Write after %s succeeded", name)
		}
		if err := w.Commit(ctx, digest.SHA256.FromString("xmore")); err == nil {
			t.Errorf("Commit after %s succeeded", name)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close after %s = %v, want nil", name, err)
		}
	}
	if _, err := d.Stat(ctx, digest.SHA256.FromString("xmore")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a finished writer published a blob: %v", err)
	}
}

func testStagedInvisible(t *testing.T, d storage.Driver) {
	ctx := t.Context()
	content := "complete, but not committed"
	dgst := digest.SHA256.FromString(content)
	w, err := d.Upload(ctx, NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(content))
	if _, err := d.Stat(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat of an open upload = %v, want ErrNotFound", err)
	}
	w.Close()
	if _, err := d.Open(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open of a closed upload = %v, want ErrNotFound", err)
	}
}

// testOpenUpload reads staged bytes back, for drivers that can.
func testOpenUpload(t *testing.T, d storage.Driver) {
	sr, ok := d.(storage.StagedReader)
	if !ok {
		t.Skipf("%T does not implement storage.StagedReader", d)
	}
	ctx := t.Context()
	id := NewID()
	stage(t, d, id, "staged bytes")
	rc, err := sr.OpenUpload(ctx, id)
	if err != nil {
		t.Fatalf("OpenUpload: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != "staged bytes" {
		t.Fatalf("OpenUpload read %q, %v; want %q", got, err, "staged bytes")
	}
	if _, err := sr.OpenUpload(ctx, NewID()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenUpload of a missing upload: %v, want ErrNotFound", err)
	}
	if _, err := sr.OpenUpload(ctx, "../escape"); !errors.Is(err, storage.ErrInvalidID) {
		t.Errorf("OpenUpload of an invalid id: %v, want ErrInvalidID", err)
	}
}
