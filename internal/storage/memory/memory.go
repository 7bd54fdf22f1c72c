package memory

import (
	"bytes"
	"cmp"
	"context"
	// Registered for their side effect: go-digest only accepts algorithms
	// whose hash is linked in.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

var (
	_ storage.Driver       = (*Driver)(nil)
	_ storage.Lister       = (*Driver)(nil)
	_ storage.StagedReader = (*Driver)(nil)
	_ storage.Writer       = (*writer)(nil)
)

// Driver keeps blobs and uploads in memory. The zero value is not usable;
// call New. It is safe for concurrent use.
type Driver struct {
	mu      sync.Mutex
	blobs   map[digest.Digest][]byte // never mutated once stored
	uploads map[string]*upload
}

// upload is a staging buffer. Writers hold a pointer to it and check that it
// is still the one registered under its id, so a writer whose upload was
// cancelled (and perhaps recreated) cannot write into the new one.
type upload struct {
	data []byte
}

// New returns an empty driver.
func New() *Driver {
	return &Driver{
		blobs:   make(map[digest.Digest][]byte),
		uploads: make(map[string]*upload),
	}
}

// blob is a committed blob being read. bytes.Reader already reports the
// full length through Size.
type blob struct {
	*bytes.Reader
}

func (blob) Close() error { return nil }

// Stat returns the size of a committed blob.
func (d *Driver) Stat(ctx context.Context, dgst digest.Digest) (int64, error) {
	if err := check(ctx, dgst); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.blobs[dgst]
	if !ok {
		return 0, fmt.Errorf("storage: %s: %w", dgst, storage.ErrNotFound)
	}
	return int64(len(b)), nil
}

// Open returns a reader over a committed blob.
func (d *Driver) Open(ctx context.Context, dgst digest.Digest) (storage.Blob, error) {
	if err := check(ctx, dgst); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b, ok := d.blobs[dgst]
	if !ok {
		return nil, fmt.Errorf("storage: %s: %w", dgst, storage.ErrNotFound)
	}
	return blob{bytes.NewReader(b)}, nil
}

// Delete removes a committed blob.
func (d *Driver) Delete(ctx context.Context, dgst digest.Digest) error {
	if err := check(ctx, dgst); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.blobs[dgst]; !ok {
		return fmt.Errorf("storage: %s: %w", dgst, storage.ErrNotFound)
	}
	delete(d.blobs, dgst)
	return nil
}

// Upload opens or creates the staging buffer of upload id; see
// storage.Driver.
func (d *Driver) Upload(ctx context.Context, id string, offset int64) (storage.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.CheckUploadID(id); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	up, ok := d.uploads[id]
	if offset < 0 {
		if ok {
			return nil, fmt.Errorf("storage: create upload %s: %w", id, os.ErrExist)
		}
		up = &upload{}
		d.uploads[id] = up
		return &writer{d: d, id: id, up: up}, nil
	}
	if !ok {
		return nil, fmt.Errorf("storage: upload %s: %w", id, storage.ErrNotFound)
	}
	if int64(len(up.data)) < offset {
		return nil, fmt.Errorf("storage: upload %s has %d bytes, resume at %d: %w",
			id, len(up.data), offset, storage.ErrOffset)
	}
	up.data = up.data[:offset]
	return &writer{d: d, id: id, up: up, size: offset}, nil
}

// OpenUpload reads a copy of the staged bytes of upload id; see
// storage.StagedReader.
func (d *Driver) OpenUpload(ctx context.Context, id string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := storage.CheckUploadID(id); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	up, ok := d.uploads[id]
	if !ok {
		return nil, fmt.Errorf("storage: upload %s: %w", id, storage.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(bytes.Clone(up.data))), nil
}

// CancelUpload drops an upload's staged bytes.
func (d *Driver) CancelUpload(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := storage.CheckUploadID(id); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.uploads, id)
	return nil
}

// UploadIDs lists the uploads in progress in lexical order, like the
// filesystem driver's method of the same name.
func (d *Driver) UploadIDs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]string, 0, len(d.uploads))
	for id := range d.uploads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// Walk calls fn for every committed blob in digest order. It works on a
// snapshot taken under the lock, so fn may call back into the driver.
func (d *Driver) Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error {
	type entry struct {
		dgst digest.Digest
		size int64
	}
	d.mu.Lock()
	entries := make([]entry, 0, len(d.blobs))
	for dgst, b := range d.blobs {
		entries = append(entries, entry{dgst, int64(len(b))})
	}
	d.mu.Unlock()
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.dgst, b.dgst) })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e.dgst, e.size); err != nil {
			return err
		}
	}
	return nil
}

// writer appends to an upload's buffer under the driver's lock.
type writer struct {
	d    *Driver
	id   string
	up   *upload
	size int64
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if err := w.usable(); err != nil {
		return 0, err
	}
	w.up.data = append(w.up.data, p...)
	w.size += int64(len(p))
	return len(p), nil
}

func (w *writer) Size() int64 { return w.size }

// Close keeps the staged bytes; closing a finished writer is a no-op.
func (w *writer) Close() error {
	w.done = true
	return nil
}

// Commit publishes a copy of the staged bytes as blob dgst, unless it
// already exists, and removes the upload. On any error the writer is
// released and the staged bytes stay resumable, as in the filesystem driver.
func (w *writer) Commit(ctx context.Context, dgst digest.Digest) error {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	w.done = true
	if err := check(ctx, dgst); err != nil {
		return err
	}
	if _, ok := w.d.blobs[dgst]; !ok {
		w.d.blobs[dgst] = bytes.Clone(w.up.data)
	}
	delete(w.d.uploads, w.id)
	return nil
}

// Cancel drops the staged bytes.
func (w *writer) Cancel(ctx context.Context) error {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	if w.done {
		return fmt.Errorf("storage: upload %s: %w", w.id, os.ErrClosed)
	}
	w.done = true
	if w.d.uploads[w.id] == w.up {
		delete(w.d.uploads, w.id)
	}
	return nil
}

// usable reports why the writer may not touch its upload any more. The
// caller holds the lock.
func (w *writer) usable() error {
	if w.done {
		return fmt.Errorf("storage: upload %s: %w", w.id, os.ErrClosed)
	}
	if w.d.uploads[w.id] != w.up {
		return fmt.Errorf("storage: upload %s: %w", w.id, storage.ErrNotFound)
	}
	return nil
}

// check refuses a cancelled context and a malformed digest before any map
// is touched.
func check(ctx context.Context, dgst digest.Digest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := dgst.Validate(); err != nil {
		return fmt.Errorf("storage: digest %q: %w", truncate(string(dgst)), err)
	}
	return nil
}

func truncate(s string) string {
	const limit = 140
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}
