package storage

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"github.com/opencontainers/go-digest"
)

// Sentinel errors returned by every driver. Callers test them with errors.Is.
var (
	// ErrNotFound means no blob (or upload) exists under the given key.
	ErrNotFound = errors.New("storage: not found")
	// ErrInvalidID means an upload id is not a safe opaque token.
	ErrInvalidID = errors.New("storage: invalid upload id")
	// ErrOffset means a resume was asked at an offset beyond what was written.
	ErrOffset = errors.New("storage: upload offset out of range")
	// ErrFull means there is no room left for the bytes (a filesystem's
	// ENOSPC or EDQUOT). What was acknowledged before stays: the upload can
	// be resumed, and the blob committed, once space is freed. The error's
	// message names the disk and its free space.
	ErrFull = errors.New("storage: no space left")
	// ErrUnavailable means the store could not be reached or failed (an
	// object store answering 5xx or not at all, after retries): nothing
	// was changed that the caller can see, and the request can be retried
	// once it is back.
	ErrUnavailable = errors.New("storage: unavailable")
)

// Driver stores blobs by digest and stages uploads before they become blobs.
//
// A blob is visible through Stat and Open only after Writer.Commit returned:
// Commit makes the bytes durable first and then publishes them atomically, so
// a crash at any moment leaves either the complete blob or nothing.
type Driver interface {
	// Stat returns the size of a committed blob, or ErrNotFound.
	Stat(ctx context.Context, dgst digest.Digest) (int64, error)
	// Open returns a reader over a committed blob, or ErrNotFound. The
	// filesystem driver's Blob embeds the *os.File so that serving it lets
	// the kernel use sendfile: pass it to http.ServeContent or io.Copy as it
	// is, without wrapping it in another reader.
	Open(ctx context.Context, dgst digest.Digest) (Blob, error)
	// Delete removes a committed blob; ErrNotFound if it does not exist.
	// Only garbage collection calls it, after the blob's metadata row is
	// gone: deleting a blob through the API only unlinks it from a
	// repository.
	Delete(ctx context.Context, dgst digest.Digest) error

	// Upload opens the staging area of upload id for appending. With
	// offset < 0 a new, empty upload is created. With offset >= 0 an existing
	// upload is resumed and truncated to offset bytes: bytes written after the
	// last acknowledged offset (a request that died half way) are discarded.
	// ErrNotFound if the upload does not exist, ErrOffset if it holds fewer
	// than offset bytes.
	Upload(ctx context.Context, id string, offset int64) (Writer, error)
	// CancelUpload removes an upload's staged bytes. Removing an upload that
	// does not exist is not an error.
	CancelUpload(ctx context.Context, id string) error
}

// Blob is a committed blob opened for reading.
type Blob interface {
	io.ReadSeekCloser
	// Size is the blob's length in bytes.
	Size() int64
}

// Writer appends to a staged upload.
type Writer interface {
	io.Writer
	// Size is the number of bytes staged so far, including earlier requests.
	Size() int64
	// Close releases the writer and keeps the staged bytes for a later
	// Upload(ctx, id, Size()) to resume.
	Close() error
	// Commit makes the staged bytes durable and publishes them as blob dgst,
	// then removes the upload. The caller has already verified the digest.
	// If the blob already exists the staged copy is simply dropped, so
	// concurrent pushes of the same blob are safe.
	Commit(ctx context.Context, dgst digest.Digest) error
	// Cancel drops the staged bytes.
	Cancel(ctx context.Context) error
}

// Expecter is implemented by writers that can use the size an upload will
// have once the current request's body is written (the registry knows it
// from Content-Length before it copies): the filesystem writer streams a
// large upload through the page cache from its first byte, not only once
// it has grown large.
type Expecter interface {
	Expect(total int64)
}

// Lister is implemented by drivers that can enumerate their committed blobs,
// for garbage collection (files left without a metadata row) and fsck.
type Lister interface {
	// Walk calls fn for every committed blob. It stops at the first error.
	Walk(ctx context.Context, fn func(dgst digest.Digest, size int64) error) error
}

// StagedReader is implemented by drivers that can read an upload's staged
// bytes back; the registry uses it to verify a digest of another algorithm
// than the one hashed while receiving.
type StagedReader interface {
	// OpenUpload returns a reader over the staged bytes of upload id, or
	// ErrNotFound.
	OpenUpload(ctx context.Context, id string) (io.ReadCloser, error)
}

// Redirector is implemented by drivers whose blobs clients can fetch
// straight from the store (an object store's presigned URL), so that a pull
// does not pass the bytes through the registry.
type Redirector interface {
	// RedirectURL returns a URL that answers GET, with Range, with the
	// bytes of committed blob dgst until it expires; "" means serve the
	// blob through Open (redirects are turned off). The caller has checked
	// that the blob exists.
	RedirectURL(ctx context.Context, dgst digest.Digest) (string, error)
}

// ErrNotLinkable means a file cannot become a blob by a new name (another
// filesystem, no permission, not the file expected): copy its bytes
// instead.
var ErrNotLinkable = errors.New("storage: cannot link the file here")

// Linker is implemented by drivers that can stage an upload as a new name
// (a hard link) of an existing file instead of a copy of its bytes: wharf
// import uses it for a registry:2 tree on the same filesystem. Neither side
// ever rewrites a blob in place (both write new files and rename them), so
// the shared bytes never change under either.
type Linker interface {
	// LinkUpload stages upload id as a hard link to the file at path,
	// which must be the file want describes (os.SameFile: a path swapped
	// after the caller opened it is refused). The Writer's Size is the
	// file's and it takes no writes: the caller reads the staged bytes
	// back (StagedReader) to verify them, then Commits or Cancels. An
	// error wrapping ErrNotLinkable means the caller should copy instead.
	LinkUpload(ctx context.Context, id, path string, want fs.FileInfo) (Writer, error)
}
