package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"wharf/internal/diskspace"
	"wharf/internal/spans"
)

// writer appends straight to root/uploads/<id>. There is no buffer: the
// caller's writes are already large (io.Copy uses 32 KiB), and an unbuffered
// file keeps Size equal to what the kernel holds.
//
// A writer is used by one goroutine at a time, like any io.Writer.
type writer struct {
	d    *Driver
	id   string
	path string   // the staged file, root/uploads/<id>
	f    *os.File // nil once Close, Commit or Cancel ran
	size int64
	// written is where the last early writeback ended, and dropped where
	// the range already on disk and out of the page cache ends (see
	// Write). dropped <= written <= size.
	written, dropped int64
	// announced is set when Expect was told the upload will be large.
	announced bool
	// reserveAt is the size at the last look at the free space
	// (checkReserve), once reserveChecked.
	reserveAt      int64
	reserveChecked bool
}

// writebackChunk is how many bytes accumulate before an early writeback.
const writebackChunk = 8 << 20

// writePiece and streamPiece are the most Write hands the kernel in one
// write(2). The page cache builds folios as large as the write (up to the
// piece). On a virtual machine that hands free memory back to its host, a
// large folio must come from a large free block, which is the kind the VM
// reports to the host, and the copy into it stalls while the host backs it
// again. This comes in phases: in one, 64 MiB written and fsynced in 1 MiB
// pieces cost about ten times the system time of pieces of 512 KiB or less,
// and 256 KiB pieces still left some pushes with several times the system
// time of distribution's 32 KiB writes, most of it in
// copy_folio_from_iter_atomic, the copy into the new pages
// (docs/performance.md).
//
// An upload that stays in the page cache (under largeUpload) therefore
// writes 32 KiB at a time, as distribution does: 32 system calls per MiB,
// and pages the allocator finds among small free blocks. A large upload
// streams through the cache (see Write): it reuses the pages it frees, so
// it writes 256 KiB at a time, an eighth of the system calls.
const (
	writePiece  = 32 << 10
	streamPiece = 256 << 10
)

// largeUpload is the size from which an upload streams through the page
// cache instead of into it: larger than nearly every image layer (the
// layers a deployment pulls right after CI pushed them stay cached), small
// next to the models, SDKs and datasets that make layers of gigabytes.
const largeUpload = 128 << 20

// Expect is told how large the upload will be once the current request's
// body is in (its Content-Length past the current size); see
// storage.Expecter. A large upload then streams through the page cache
// from its first byte.
func (w *writer) Expect(total int64) {
	if total >= largeUpload {
		w.announced = true
	}
}

// streaming reports whether the upload is large (announced by Expect, or
// grown past largeUpload), so streams through the page cache.
func (w *writer) streaming() bool {
	return w.announced || w.size >= largeUpload
}

// Write appends p to the staged file. Every writebackChunk bytes the kernel
// is told to start writing the new chunk to disk, so that an upload goes to
// disk while it arrives instead of piling up for the final fsync.
//
// A large upload also streams through the page cache rather than into it
// (write-behind): the chunk before the new one, whose writeback has had a
// whole chunk's time to finish, is waited for and dropped from the cache,
// and the last chunks leave after the fsync that ends the request
// (release). So a push of gigabytes does not evict the layers and
// manifests that pulls need (it comes back into the cache through a pull
// that reads it), and the page cache does not grow by its size: on virtual
// machines that hand freed memory back to the host, each new page costs a
// host fault — about 4 s of system time per GiB, against 0.2 s for pages
// the kernel recycles, which is what the dropped chunks become. Uploads
// under largeUpload stay cached.
func (w *writer) Write(p []byte) (int, error) {
	if w.f == nil {
		return 0, w.closedErr()
	}
	if err := w.checkReserve(len(p)); err != nil {
		return 0, &fullError{err: fmt.Errorf("storage: upload %s: %w", w.id, err), space: diskspace.Describe(w.d.root)}
	}
	var (
		n   int
		err error
	)
	piece := writePiece
	if w.streaming() {
		piece = streamPiece
	}
	for n < len(p) && err == nil {
		var m int
		m, err = w.f.Write(p[n:min(len(p), n+piece)])
		n += m
	}
	w.size += int64(n)
	if w.size-w.written >= writebackChunk {
		startWriteback(w.f, w.written, w.size-w.written)
		if w.streaming() {
			dropBehind(w.f, w.dropped, w.written-w.dropped)
			w.dropped = w.written
		}
		w.written = w.size
	}
	if err != nil {
		return n, w.d.full(fmt.Errorf("storage: upload %s: %w", w.id, err))
	}
	return n, nil
}

func (w *writer) Size() int64 { return w.size }

// Close syncs the staged bytes, and the uploads directory that names the
// file, before releasing it: the caller acknowledges Size() to the client next, and an acknowledged
// range must survive a power loss. An empty upload has nothing to keep and
// syncs nothing. Closing a writer that is already finished is a no-op, so
// `defer w.Close()` is safe next to Commit and Cancel.
func (w *writer) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.release(w.size > 0)
	if _, named := w.d.durable.Load(w.path); err == nil && w.size > 0 && !named {
		// Once per upload and process: later PATCHes find it synced.
		if err = syncDir(w.d.uploads); err == nil {
			w.d.durable.Store(w.path, struct{}{})
		}
	}
	if err != nil {
		return w.d.full(fmt.Errorf("storage: upload %s: %w", w.id, err))
	}
	return nil
}

// Commit publishes the staged file as blob dgst:
//
//  1. fsync the staged file, so the bytes are on disk before any name points
//     at them;
//  2. if the blob already exists, drop the staged copy (same digest, same
//     bytes);
//  3. otherwise rename it into blobs/ (atomic: readers see nothing or all)
//     and fsync the directories from blobs/ down, so the name is durable.
//
// Two commits of the same digest may both reach the rename; the second
// replaces identical bytes, which readers cannot tell apart. On any error the
// writer is released and the staged bytes stay resumable; on a full disk
// the error is storage.ErrFull.
func (w *writer) Commit(ctx context.Context, dgst digest.Digest) error {
	ctx, span := spans.Start(ctx, "storage Commit")
	err := w.d.full(w.commit(ctx, dgst))
	span.End(err)
	return err
}

func (w *writer) commit(ctx context.Context, dgst digest.Digest) error {
	if w.f == nil {
		return w.closedErr()
	}
	dst, err := w.d.blobPath(dgst)
	if err != nil {
		w.release(false)
		return err
	}
	if err := ctx.Err(); err != nil {
		w.release(false)
		return err
	}
	if err := w.release(true); err != nil {
		return fmt.Errorf("storage: commit upload %s: %w", w.id, err)
	}
	if _, err := os.Stat(dst); err == nil {
		return w.removeStaging(false)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: commit %s: %w", dgst, err)
	}
	prefixDir := filepath.Dir(dst)
	// A directory this process made durable is renamed into without a
	// look first; if it went since (blobs/ removed by hand), the rename
	// fails and the directory is made again, as it is the first time.
	_, known := w.d.durable.Load(prefixDir)
	if !known {
		if err := w.d.makePrefix(prefixDir); err != nil {
			return fmt.Errorf("storage: commit %s: %w", dgst, err)
		}
	}
	err = os.Rename(w.path, dst)
	if known && errors.Is(err, fs.ErrNotExist) {
		if err = w.d.makePrefix(prefixDir); err == nil {
			err = os.Rename(w.path, dst)
		}
	}
	if err != nil {
		// The destination directory exists, so a missing name is the
		// staged file: the upload was cancelled under this writer.
		return notFound(err, "commit upload "+w.id)
	}
	// The rename changed prefixDir's entries, so prefixDir is synced. The
	// directories above it (up to the root, which names blobs/) change
	// only when prefixDir is made: they are synced until this process has
	// once seen the whole chain durable (Driver.durable), after which
	// their fsyncs would find nothing to do.
	dirs := []string{prefixDir}
	_, durable := w.d.durable.Load(prefixDir)
	if !durable {
		dirs = append(dirs, filepath.Dir(prefixDir), w.d.blobs, w.d.root)
	}
	for _, dir := range dirs {
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("storage: commit %s: %w", dgst, err)
		}
	}
	if !durable {
		w.d.durable.Store(prefixDir, struct{}{})
	}
	return w.removeStaging(true)
}

// makePrefix makes sure blobs/<algorithm>/<prefix> exists. When it has to
// make it (new, or made again after blobs/ was removed by hand), the chain
// above it is synced again too: Commit finds it missing from d.durable.
func (d *Driver) makePrefix(prefixDir string) error {
	if _, err := os.Stat(prefixDir); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	d.durable.Delete(prefixDir)
	return os.MkdirAll(prefixDir, dirPerm)
}

// Cancel closes the file and removes it.
func (w *writer) Cancel(ctx context.Context) error {
	if w.f == nil {
		return w.closedErr()
	}
	w.release(false)
	return w.removeStaging(false)
}

// release closes the file, syncing it first if asked, and marks the writer
// finished whatever the outcome.
func (w *writer) release(sync bool) error {
	f := w.f
	w.f = nil
	var err error
	if sync {
		err = f.Sync()
		// Everything is on disk now: a large upload's tail, or the whole
		// PATCH of a chunked one (each PATCH is its own writer, and may
		// never reach a second chunk), leaves the page cache as the rest
		// of it did.
		if err == nil && w.streaming() {
			dropCached(f, w.dropped, w.size-w.dropped)
		}
	}
	return errors.Join(err, f.Close())
}

// removeStaging drops what is left of the upload once its data was
// published (renamed: the staged file is the blob now, and only its name is
// forgotten) or abandoned (the staged file is removed). A leftover is
// harmless: it is not a blob, and UploadIDs lists it.
func (w *writer) removeStaging(renamed bool) error {
	if renamed {
		w.d.durable.Delete(w.path)
		return nil
	}
	if err := w.d.removeUpload(w.path); err != nil {
		return fmt.Errorf("storage: remove upload %s: %w", w.id, err)
	}
	return nil
}

func (w *writer) closedErr() error {
	return fmt.Errorf("storage: upload %s: %w", w.id, os.ErrClosed)
}
