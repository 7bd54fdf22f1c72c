package filesystem

import (
	"context"
	// Registered for their side effect: go-digest only accepts algorithms
	// whose hash is linked in.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/spans"
	"wharf/internal/storage"
)

const (
	dirPerm  = 0o700
	filePerm = 0o600

	blobsDir   = "blobs"
	uploadsDir = "uploads"
)

var (
	_ storage.Driver       = (*Driver)(nil)
	_ storage.Lister       = (*Driver)(nil)
	_ storage.StagedReader = (*Driver)(nil)
	_ storage.Blob         = (*Blob)(nil)
	_ storage.Writer       = (*writer)(nil)
)

// Driver stores blobs under a root directory. It is safe for concurrent use,
// including by several processes sharing the same root.
type Driver struct {
	root    string // absolute and clean
	blobs   string // root/blobs
	uploads string // root/uploads
	// durable holds the blobs/<algorithm>/<prefix> directories this
	// process has synced together with their parents, so that later
	// commits into them sync only the directory they changed; and the
	// staged files whose names it has synced (writer.Close), until the
	// upload is removed.
	durable sync.Map
}

// New returns a driver rooted at root, creating root, root/blobs and
// root/uploads (mode 0700) if they are missing.
func New(root string) (*Driver, error) {
	if root == "" {
		return nil, errors.New("storage: filesystem root is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("storage: filesystem root: %w", err)
	}
	d := &Driver{
		root:    abs,
		blobs:   filepath.Join(abs, blobsDir),
		uploads: filepath.Join(abs, uploadsDir),
	}
	for _, dir := range []string{d.blobs, d.uploads} {
		if err := os.MkdirAll(dir, dirPerm); err != nil {
			return nil, fmt.Errorf("storage: filesystem root: %w", err)
		}
	}
	// Commit and Upload sync the directories below these two; the entries
	// for blobs/ and uploads/ themselves are made durable here, once.
	if err := syncDir(abs); err != nil {
		return nil, fmt.Errorf("storage: filesystem root: %w", err)
	}
	return d, nil
}

// remakeUploads makes uploads/ again after it was removed under the running
// driver, and syncs the root that names it, as New does. (blobs/ is made
// again by Commit, which syncs the chain up to the root.)
func (d *Driver) remakeUploads() error {
	if err := os.MkdirAll(d.uploads, dirPerm); err != nil {
		return err
	}
	return syncDir(d.root)
}

// Root returns the absolute directory the driver stores into.
func (d *Driver) Root() string { return d.root }

// Blob is a committed blob opened for reading. It embeds the *os.File so that
// io.Copy and http.ServeContent can hand the descriptor to sendfile; see the
// package documentation.
type Blob struct {
	*os.File
	size int64
}

// Size returns the blob's length in bytes.
func (b *Blob) Size() int64 { return b.size }

// Stat returns the size of a committed blob.
func (d *Driver) Stat(ctx context.Context, dgst digest.Digest) (_ int64, err error) {
	ctx, span := spans.Start(ctx, "storage Stat")
	defer func() { span.End(err) }()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p, err := d.blobPath(dgst)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0, notFound(err, dgst.String())
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("storage: blob %s is not a regular file", dgst)
	}
	return fi.Size(), nil
}

// ModTime returns when a committed blob's file was last written (its bytes
// staged, or for a hard-linked import the source file's time), or
// ErrNotFound. Garbage collection removes a file without a metadata row only
// once it is older than the grace period.
func (d *Driver) ModTime(ctx context.Context, dgst digest.Digest) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	p, err := d.blobPath(dgst)
	if err != nil {
		return time.Time{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}, notFound(err, dgst.String())
	}
	return fi.ModTime(), nil
}

// Open returns the committed blob dgst as a *Blob.
func (d *Driver) Open(ctx context.Context, dgst digest.Digest) (_ storage.Blob, err error) {
	ctx, span := spans.Start(ctx, "storage Open")
	defer func() { span.End(err) }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := d.blobPath(dgst)
	if err != nil {
		return nil, err
	}
	f, err := openFile(p, os.O_RDONLY, 0)
	if err != nil {
		return nil, notFound(err, dgst.String())
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: blob %s: %w", dgst, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("storage: blob %s is not a regular file", dgst)
	}
	return &Blob{File: f, size: fi.Size()}, nil
}

// Delete removes a committed blob. Readers that already opened it keep
// reading the old bytes until they close it.
func (d *Driver) Delete(ctx context.Context, dgst digest.Digest) (err error) {
	ctx, span := spans.Start(ctx, "storage Delete")
	defer func() { span.End(err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := d.blobPath(dgst)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return notFound(err, dgst.String())
	}
	// The parent directory is not fsynced: a delete lost in a crash leaves an
	// unreferenced blob, which the caller (garbage collection) finds and
	// removes again.
	return nil
}

// Upload opens the staging file of upload id; see storage.Driver.
func (d *Driver) Upload(ctx context.Context, id string, offset int64) (_ storage.Writer, err error) {
	ctx, span := spans.Start(ctx, "storage Upload")
	defer func() { span.End(err) }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := d.uploadPath(id)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return d.createUpload(id, p)
	}
	f, err := openFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, notFound(err, "upload "+id)
	}
	w := &writer{d: d, id: id, path: p, f: f, size: offset, written: offset, dropped: offset}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: upload %s: %w", id, err)
	}
	if fi.Size() < offset {
		f.Close()
		return nil, fmt.Errorf("storage: upload %s has %d bytes, resume at %d: %w",
			id, fi.Size(), offset, storage.ErrOffset)
	}
	// Bytes past offset come from a request that failed after the caller
	// last acknowledged a range; the client resends them. (A truncate to
	// the same size would still change the file's times: one more inode
	// for the next fsync to write.)
	if fi.Size() > offset {
		if err := f.Truncate(offset); err != nil {
			f.Close()
			return nil, fmt.Errorf("storage: upload %s: %w", id, err)
		}
	}
	return w, nil
}

// createUpload makes the staging file root/uploads/<id>. Creating it is the
// exclusive step (O_EXCL), so two creators of the same id cannot both
// succeed.
func (d *Driver) createUpload(id, p string) (storage.Writer, error) {
	const flag = os.O_WRONLY | os.O_CREATE | os.O_EXCL | os.O_APPEND
	f, err := openFile(p, flag, filePerm)
	if errors.Is(err, fs.ErrNotExist) {
		// uploads/ was removed under the running server (a clean-up by
		// hand, a volume mounted over the root): make it again, as New
		// did, rather than fail every push until a restart.
		if err = d.remakeUploads(); err == nil {
			f, err = openFile(p, flag, filePerm)
		}
	}
	if err != nil {
		return nil, d.full(fmt.Errorf("storage: create upload %s: %w", id, err))
	}
	// The new name is not synced here: an empty upload lost in a crash
	// costs its client a new POST, and the first Close that acknowledges
	// bytes syncs it with those bytes (writer.Close). A monolithic
	// POST+PUT never needs it durable: Commit moves the file out.
	return &writer{d: d, id: id, path: p, f: f}, nil
}

// OpenUpload reads the staged bytes of upload id; see storage.StagedReader.
func (d *Driver) OpenUpload(ctx context.Context, id string) (_ io.ReadCloser, err error) {
	ctx, span := spans.Start(ctx, "storage OpenUpload")
	defer func() { span.End(err) }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := d.uploadPath(id)
	if err != nil {
		return nil, err
	}
	f, err := openFile(p, os.O_RDONLY, 0)
	if err != nil {
		return nil, notFound(err, "upload "+id)
	}
	return f, nil
}

// CancelUpload removes an upload's staging file. An upload that is already
// gone is not an error: cancelling is idempotent.
func (d *Driver) CancelUpload(ctx context.Context, id string) (err error) {
	ctx, span := spans.Start(ctx, "storage CancelUpload")
	defer func() { span.End(err) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := d.uploadPath(id)
	if err != nil {
		return err
	}
	if err := d.removeUpload(p); err != nil {
		return fmt.Errorf("storage: cancel upload %s: %w", id, err)
	}
	return nil
}

// removeUpload removes the staged file p and forgets that its name was
// synced; a file that is already gone is not an error.
func (d *Driver) removeUpload(p string) error {
	d.durable.Delete(p)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// UploadIDs lists the uploads that have staging files, in lexical order,
// so that a check of the data directory (fsck, not built yet) can find
// staged files no upload session owns. The server does not call it: it
// purges stale sessions from their metadata rows (the gc package's uploads phase).
// Entries that are not valid upload ids, or not regular files, are
// skipped: nothing this driver writes looks like that.
func (d *Driver) UploadIDs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(d.uploads)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // removed by hand: nothing is staged
	}
	if err != nil {
		return nil, fmt.Errorf("storage: list uploads: %w", err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && storage.ValidUploadID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Walk calls fn for every committed blob, in lexical order of algorithm and
// digest. Files whose path is not a valid digest layout are skipped, so Walk
// reports exactly what Stat and Open can reach.
func (d *Driver) Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	algs, err := os.ReadDir(d.blobs)
	if err != nil {
		return fmt.Errorf("storage: walk: %w", err)
	}
	for _, alg := range algs {
		if !alg.IsDir() {
			continue
		}
		prefixes, err := os.ReadDir(filepath.Join(d.blobs, alg.Name()))
		if err != nil {
			return fmt.Errorf("storage: walk: %w", err)
		}
		for _, prefix := range prefixes {
			if !prefix.IsDir() {
				continue
			}
			if err := d.walkPrefix(ctx, alg.Name(), prefix.Name(), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *Driver) walkPrefix(ctx context.Context, alg, prefix string, fn func(digest.Digest, int64) error) error {
	dir := filepath.Join(d.blobs, alg, prefix)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("storage: walk: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		dgst := digest.NewDigestFromEncoded(digest.Algorithm(alg), e.Name())
		if !e.Type().IsRegular() || dgst.Validate() != nil || e.Name()[:2] != prefix {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return fmt.Errorf("storage: walk: %w", err)
		}
		if err := fn(dgst, fi.Size()); err != nil {
			return err
		}
	}
	return nil
}

// notFound maps a missing file to storage.ErrNotFound and wraps anything
// else as is.
func notFound(err error, what string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: %s: %w", what, storage.ErrNotFound)
	}
	return fmt.Errorf("storage: %s: %w", what, err)
}

// syncDir fsyncs a directory so that entries created in or renamed into it
// are durable.
func syncDir(dir string) error {
	f, err := openFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
