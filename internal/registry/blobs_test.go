package registry_test

import (
	"bytes"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/registry"
	"wharf/internal/storage/memory"
)

// TestOpenBlobMissingFromStorage checks that a blob the database records
// but storage lost is BLOB_UNKNOWN to the client, and that the log line
// names it and a fix that exists today (no command that is not built).
func TestOpenBlobMissingFromStorage(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	reg := registry.New(memory.New(), meta, log, registry.Options{})
	dgst := digest.FromString("lost")
	if err := meta.AddBlob(t.Context(), "app", dgst, 4); err != nil {
		t.Fatal(err)
	}

	if b, err := reg.OpenBlob(t.Context(), "app", dgst); !errors.Is(err, registry.ErrBlobUnknown) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("OpenBlob = %v, want ErrBlobUnknown", err)
	}
	line := logs.String()
	for _, want := range []string{"level=ERROR", "missing from storage", "restore", dgst.String(), "repo=app"} {
		if !strings.Contains(line, want) {
			t.Errorf("log lacks %q:\n%s", want, line)
		}
	}
	if strings.Contains(line, "wharf fsck") && !strings.Contains(line, "not built") {
		t.Errorf("log sends the operator to a command that does not exist:\n%s", line)
	}
}

// TestAddBlob links bytes already committed to storage into a repository,
// with the size storage reports, and refuses a digest storage lacks
// without creating the repository.
func TestAddBlob(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	blobs := memory.New()
	reg := registry.New(blobs, meta, log, registry.Options{})
	content := []byte("imported bytes")
	dgst := digest.FromBytes(content)
	w, err := blobs.Upload(t.Context(), "import-0123456789abcdef", -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), dgst); err != nil {
		t.Fatal(err)
	}

	if size, err := reg.AddBlob(t.Context(), "team/app", dgst); err != nil || size != int64(len(content)) {
		t.Fatalf("AddBlob = %d, %v; want %d, nil", size, err, len(content))
	}
	if size, err := reg.StatBlob(t.Context(), "team/app", dgst); err != nil || size != int64(len(content)) {
		t.Errorf("StatBlob after AddBlob = %d, %v", size, err)
	}
	if _, err := reg.AddBlob(t.Context(), "other", digest.FromString("absent")); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Errorf("AddBlob of a digest storage lacks = %v; want ErrBlobUnknown", err)
	}
	if _, err := reg.StatBlob(t.Context(), "other", digest.FromString("absent")); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Errorf("StatBlob after a refused AddBlob = %v; want ErrBlobUnknown", err)
	}
}
