package ociapi_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/ociapi"
	"wharf/internal/registry"
	"wharf/internal/storage"
	"wharf/internal/storage/memory"
	"wharf/internal/testserver"
)

// failingDriver is the memory driver whose writes fail with what fail
// returns, when it returns an error.
type failingDriver struct {
	storage.Driver
	fail func() error
}

func (d failingDriver) Upload(ctx context.Context, id string, offset int64) (storage.Writer, error) {
	w, err := d.Driver.Upload(ctx, id, offset)
	if err != nil {
		return nil, err
	}
	return failingWriter{Writer: w, fail: d.fail}, nil
}

type failingWriter struct {
	storage.Writer
	fail func() error
}

func (w failingWriter) Write(p []byte) (int, error) {
	if err := w.fail(); err != nil {
		return 0, err
	}
	return w.Writer.Write(p)
}

// A chunk that finds the disk full is 507 with the table's message (no
// path of the server's), the log names the disk through DiskSpace, and the
// upload resumes from its acknowledged bytes once there is room.
func TestFullStorageIs507AndTheUploadResumes(t *testing.T) {
	t.Parallel()
	var logs testserver.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	full := &atomic.Bool{}
	fail := func() error {
		if full.Load() {
			return fmt.Errorf("%w on /srv/secret/blobs: write: no space left on device", storage.ErrFull)
		}
		return nil
	}
	reg := registry.New(failingDriver{Driver: memory.New(), fail: fail}, meta, log, registry.Options{})
	srv := httptest.NewServer(ociapi.New(reg, log, nil, ociapi.Options{DiskSpace: func() string { return "THE-DATA-DISK: 0 B free" }}))
	t.Cleanup(srv.Close)

	r := do(t, http.MethodPost, srv.URL+"/v2/full/blobs/uploads/", nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	loc := srv.URL + r.header.Get("Location")
	if r = do(t, http.MethodPatch, loc, []byte("first")); r.status != http.StatusAccepted {
		t.Fatalf("first chunk: %d %s", r.status, r.body)
	}
	loc = srv.URL + r.header.Get("Location")

	full.Store(true)
	r = do(t, http.MethodPatch, loc, []byte("second"), "Content-Range", "5-10")
	if r.status != http.StatusInsufficientStorage || r.code() != "UNAVAILABLE" || !strings.Contains(string(r.body), "storage is full") ||
		strings.Contains(string(r.body), "/srv/secret") {
		t.Errorf("a chunk on a full disk: %d %s; want 507 UNAVAILABLE with the table's message only", r.status, r.body)
	}
	if got := logs.String(); !strings.Contains(got, "no space left") || !strings.Contains(got, "THE-DATA-DISK: 0 B free") {
		t.Errorf("the log does not name the disk:\n%s", got)
	}
	if r = do(t, http.MethodGet, loc, nil); r.status != http.StatusNoContent || r.header.Get("Range") != "0-4" {
		t.Errorf("the upload after a full disk: %d, Range %q; want its 5 acknowledged bytes", r.status, r.header.Get("Range"))
	}

	full.Store(false)
	if r = do(t, http.MethodPatch, loc, []byte("second"), "Content-Range", "5-10"); r.status != http.StatusAccepted {
		t.Fatalf("the chunk again: %d %s", r.status, r.body)
	}
	dgst := digest.FromString("firstsecond")
	if r = do(t, http.MethodPut, srv.URL+r.header.Get("Location")+"?digest="+dgst.String(), nil); r.status != http.StatusCreated {
		t.Errorf("finish: %d %s", r.status, r.body)
	}
}

// A storage write that fails for another reason (an I/O error) is the
// server's failure, not the client's: 500 UNKNOWN without the error's text,
// which names the server's paths, and a log line with it.
func TestStorageWriteErrorHidesPaths(t *testing.T) {
	t.Parallel()
	var logs testserver.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	fail := func() error {
		return &fs.PathError{Op: "write", Path: "/srv/secret/blobs/uploads/x", Err: syscall.EIO}
	}
	reg := registry.New(failingDriver{Driver: memory.New(), fail: fail}, meta, log, registry.Options{})
	srv := httptest.NewServer(ociapi.New(reg, log, nil, ociapi.Options{}))
	t.Cleanup(srv.Close)

	content := []byte("some layer")
	for _, tc := range []struct{ name, method, path string }{
		{"monolithic POST", http.MethodPost, "/v2/eio/blobs/uploads/?digest=" + digest.FromBytes(content).String()},
	} {
		r := do(t, tc.method, srv.URL+tc.path, content)
		if r.status != http.StatusInternalServerError || r.code() != "UNKNOWN" || strings.Contains(string(r.body), "/srv/secret") {
			t.Errorf("%s on a failing disk: %d %s; want 500 UNKNOWN without the server's paths", tc.name, r.status, r.body)
		}
	}
	r := do(t, http.MethodPost, srv.URL+"/v2/eio/blobs/uploads/", nil)
	loc := srv.URL + r.header.Get("Location")
	r = do(t, http.MethodPatch, loc, content)
	if r.status != http.StatusInternalServerError || strings.Contains(string(r.body), "/srv/secret") {
		t.Errorf("PATCH on a failing disk: %d %s; want 500 without the server's paths", r.status, r.body)
	}
	if !strings.Contains(logs.String(), "/srv/secret/blobs/uploads/x") {
		t.Errorf("the log does not name the failing file:\n%s", logs.String())
	}
}
