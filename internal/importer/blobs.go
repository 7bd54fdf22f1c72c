package importer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
)

// An import stages each blob as an upload named uploadPrefix and 32 hex
// digits: a length no upload id of the registry API has (those are 43
// characters), so that sweepStaged removes what a killed import left
// behind and nothing else.
const (
	uploadPrefix = "import-"
	uploadIDLen  = len(uploadPrefix) + 32
)

func newUploadID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("importer: upload id: %w", err)
	}
	return uploadPrefix + hex.EncodeToString(b[:]), nil
}

func isImportUpload(id string) bool {
	return len(id) == uploadIDLen && strings.HasPrefix(id, uploadPrefix)
}

// stagedLister is the filesystem driver's listing of staged uploads.
type stagedLister interface {
	UploadIDs(ctx context.Context) ([]string, error)
}

// sweepStaged removes the staged uploads an earlier import left when it
// was killed (a finished or interrupted one removes its own). The caller
// holds the data directory's lock, so no other import is staging.
func sweepStaged(ctx context.Context, blobs storage.Driver) (int, error) {
	l, ok := blobs.(stagedLister)
	if !ok {
		return 0, nil
	}
	ids, err := l.UploadIDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("importer: %w", err)
	}
	n := 0
	for _, id := range ids {
		if isImportUpload(id) {
			if err := blobs.CancelUpload(ctx, id); err != nil {
				return n, fmt.Errorf("importer: %w", err)
			}
			n++
		}
	}
	return n, nil
}

// outcome is what became of one blob's bytes.
type outcome int

const (
	outcomeThere outcome = iota
	outcomeCopied
	outcomeLinked
)

// sourceError is a problem of the tree (a blob unreadable, or whose bytes
// do not match its digest), which the import reports and skips; any other
// error is wharf's (a full disk, the database) and stops it.
type sourceError struct{ error }

func (e sourceError) Unwrap() error { return e.error }

// putBytes makes wharf's storage hold blob b: nothing to do when it does
// already, otherwise a hard link (with Options.Link, when the driver and
// the filesystem allow it) or a copy, each verified against the digest
// before it is committed. A blob that fails verification is not committed
// and its staged copy is removed.
func (im *importer) putBytes(ctx context.Context, b *Blob) (outcome, error) {
	if _, err := im.blobs.Stat(ctx, b.Digest); err == nil {
		return outcomeThere, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("importer: %w", err)
	}
	f, fi, err := im.src.open(b.path)
	if err != nil {
		return 0, sourceError{err}
	}
	defer f.Close()
	id, err := newUploadID()
	if err != nil {
		return 0, err
	}
	if im.opts.Link {
		if out, err := im.link(ctx, id, b, fi); !errors.Is(err, storage.ErrNotLinkable) {
			return out, err
		}
	}
	return outcomeCopied, im.copy(ctx, id, b, f, fi.Size())
}

// link stages the source file by a hard link, verifies the linked bytes
// and commits them. ErrNotLinkable sends the caller to copy.
func (im *importer) link(ctx context.Context, id string, b *Blob, fi fs.FileInfo) (outcome, error) {
	lk, ok := im.blobs.(storage.Linker)
	sr, ok2 := im.blobs.(storage.StagedReader)
	if !ok || !ok2 {
		return 0, storage.ErrNotLinkable
	}
	w, err := lk.LinkUpload(ctx, id, im.src.Path(b.path), fi)
	if err != nil {
		if errors.Is(err, storage.ErrNotLinkable) && !im.linkNoted {
			im.linkNoted = true
			im.progress.Note(fmt.Sprintf("cannot hard-link into wharf's blob store (%v): copying instead", err))
		}
		return 0, err
	}
	// The linked name is read, not the source path: what is verified is
	// what is committed.
	rc, err := sr.OpenUpload(ctx, id)
	if err != nil {
		_ = w.Cancel(context.WithoutCancel(ctx))
		return 0, fmt.Errorf("importer: %w", err)
	}
	h := b.Digest.Algorithm().Hash()
	_, err = io.Copy(h, im.counted(ctx, rc))
	rc.Close()
	if err == nil {
		err = verify(b, h, w.Size())
	}
	if err != nil {
		_ = w.Cancel(context.WithoutCancel(ctx))
		return 0, err
	}
	if err := w.Commit(ctx, b.Digest); err != nil {
		return 0, fmt.Errorf("importer: %w", err)
	}
	return outcomeLinked, nil
}

// copy streams the source file into a staged upload and its hash in one
// pass, and commits it if the digest matches.
func (im *importer) copy(ctx context.Context, id string, b *Blob, f *os.File, size int64) error {
	w, err := im.blobs.Upload(ctx, id, -1)
	if err != nil {
		return fmt.Errorf("importer: %w", err)
	}
	if e, ok := w.(storage.Expecter); ok {
		e.Expect(size)
	}
	h := b.Digest.Algorithm().Hash()
	_, err = io.Copy(io.MultiWriter(w, h), im.counted(ctx, f))
	if err == nil {
		err = verify(b, h, w.Size())
	}
	if err != nil {
		// Cancel with a live context: an interrupted import removes its
		// staged bytes too.
		_ = w.Cancel(context.WithoutCancel(ctx))
		return err
	}
	if err := w.Commit(ctx, b.Digest); err != nil {
		return fmt.Errorf("importer: %w", err)
	}
	return nil
}

func verify(b *Blob, h hash.Hash, n int64) error {
	if got := digest.NewDigest(b.Digest.Algorithm(), h); got != b.Digest {
		return sourceError{fmt.Errorf("corrupt: its %d bytes have digest %s", n, got)}
	}
	return nil
}

// counted paces a source reader and counts its bytes in the progress.
func (im *importer) counted(ctx context.Context, r io.Reader) io.Reader {
	return &countingReader{r: im.pace.reader(ctx, r), add: im.progress.AddBytes}
}

type countingReader struct {
	r   io.Reader
	add func(int64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.add(int64(n))
	return n, err
}
