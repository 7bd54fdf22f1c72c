package fsck

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/storage"
)

// page is how many rows one read of the database returns.
const page = 500

// checkBlobs reads every blob row's bytes back and hashes them.
func (c *checker) checkBlobs(ctx context.Context) error {
	var after digest.Digest
	for {
		rows, err := c.meta.BlobsAfter(ctx, after, page)
		if err != nil {
			return fmt.Errorf("fsck: %w", err)
		}
		for _, row := range rows {
			if err := c.checkBlob(ctx, row); err != nil {
				return err
			}
		}
		if len(rows) < page {
			return nil
		}
		after = rows[len(rows)-1].Digest
	}
}

func (c *checker) checkBlob(ctx context.Context, row metadata.BlobRow) error {
	c.rows[row.Digest] = true
	kind, detail, err := c.verify(ctx, row)
	if err != nil {
		return err
	}
	c.count(func() {
		c.rep.Blobs++
		c.rep.Bytes += row.Size
	})
	if kind == "" {
		return nil
	}
	if kind == BlobMissing {
		// Removed since the page was read (garbage collection beside
		// us) is no problem: only a row still there without bytes is.
		if _, err := c.meta.BlobSize(ctx, row.Digest); errors.Is(err, metadata.ErrNotFound) {
			return nil
		}
	}
	repos, err := c.meta.BlobRepositories(ctx, row.Digest)
	if err != nil {
		return fmt.Errorf("fsck: %w", err)
	}
	c.bad[row.Digest] = c.add(Problem{Kind: kind, Digest: row.Digest, Detail: detail, Repositories: repos})
	c.log.Warn("fsck: blob problem", "digest", row.Digest, "kind", kind, "detail", detail)
	return nil
}

// verify reads the blob and returns what is wrong with it, or "" when
// nothing is. The error is for a context ended: anything storage says about
// one blob is that blob's problem.
func (c *checker) verify(ctx context.Context, row metadata.BlobRow) (Kind, string, error) {
	if err := row.Digest.Validate(); err != nil {
		return BlobDigest, fmt.Sprintf("the row's digest is not valid: %v", err), nil
	}
	b, err := c.blobs.Open(ctx, row.Digest)
	if errors.Is(err, storage.ErrNotFound) {
		return BlobMissing, fmt.Sprintf("the database records %d bytes, storage has none", row.Size), nil
	}
	if err != nil {
		return BlobUnreadable, err.Error(), ctx.Err()
	}
	defer b.Close()
	if b.Size() != row.Size {
		return BlobSize, fmt.Sprintf("storage holds %d bytes, the database records %d", b.Size(), row.Size), nil
	}
	h := row.Digest.Algorithm().Hash()
	n, err := io.Copy(&hashing{ctx: ctx, h: h}, b)
	if err != nil {
		return BlobUnreadable, fmt.Sprintf("read failed after %d bytes: %v", n, err), ctx.Err()
	}
	if n != row.Size {
		return BlobSize, fmt.Sprintf("read %d bytes, the database records %d", n, row.Size), nil
	}
	if got := digest.NewDigest(row.Digest.Algorithm(), h); got != row.Digest {
		return BlobDigest, fmt.Sprintf("the bytes hash to %s", got), nil
	}
	return "", "", ctx.Err()
}

// hashing hashes what it is written and stops when the run is cancelled:
// a large blob is not read to its end after Ctrl-C.
type hashing struct {
	ctx context.Context //nolint:containedctx // one io.Copy's lifetime
	h   hash.Hash
}

func (w *hashing) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.h.Write(p)
}

// findOrphans lists committed blobs without a row. They are garbage
// collection's to remove, not problems: a crash between storage's commit
// and the database's leaves them, and pushes beside a running server make
// them for a moment.
func (c *checker) findOrphans(ctx context.Context) error {
	lister, ok := c.blobs.(storage.Lister)
	if !ok {
		c.rep.Unchecked = append(c.rep.Unchecked, "orphan blobs: this storage driver cannot list its blobs")
		return nil
	}
	err := lister.Walk(ctx, func(dgst digest.Digest, size int64) error {
		if c.rows[dgst] {
			return nil
		}
		// A push beside us may have recorded it since its page was read.
		if _, err := c.meta.BlobSize(ctx, dgst); err == nil {
			return nil
		} else if !errors.Is(err, metadata.ErrNotFound) {
			return fmt.Errorf("fsck: %w", err)
		}
		c.rep.Orphans = append(c.rep.Orphans, Orphan{Digest: dgst, Size: size})
		c.rep.OrphanBytes += size
		return nil
	})
	if err != nil {
		return fmt.Errorf("fsck: list storage: %w", err)
	}
	return nil
}
