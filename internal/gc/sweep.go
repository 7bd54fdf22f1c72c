package gc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"wharf/internal/metadata"
	"wharf/internal/retention"
	"wharf/internal/storage"
)

// manifests deletes the untagged manifests through retention's
// untagged_after rule, with the grace period as its age, on every
// repository: one meaning of "untagged" for both commands. The rule
// deletes, parents first, what no tag, kept index or kept subject needs
// and nobody pushed or pulled within the grace period.
func (r *run) manifests(ctx context.Context) error {
	rr := &retention.Runner{Meta: r.c.meta, Log: r.c.log, Now: r.c.now, ReadOnly: r.opts.ReadOnly}
	rep, err := rr.DeleteUntagged(ctx, r.opts.DryRun, r.opts.Grace)
	if err != nil {
		return fmt.Errorf("gc: untagged manifests: %w", err)
	}
	r.res.ManifestsDeleted += rep.Deleted
	for _, s := range rep.Skipped {
		r.c.log.Debug("untagged manifest kept: it changed since it was read", "manifest", s)
	}
	r.progress()
	return nil
}

// sweepBatch is how many blobs one delete transaction takes: one commit
// (one fsync) for all of them. The rows of a collection's blobs are
// spread over the tables' pages (a row's place follows its insertion, not
// its digest), so on SQLite each batch rewrites a page for nearly every
// blob it deletes, and only larger batches share pages: deleting 4,000
// garbage blobs among 20,000 from the sqlite3 shell wrote 36.8 MB of WAL in
// batches of 256, 19.8 MB in batches of 1024 and 8.5 MB in one. 1024 held
// SQLite's write lock for 77–190 ms at most on a machine at load 9–12 (the
// debug log's longest_tx), which a push's commit waits for at worst; on
// PostgreSQL and MySQL the row locks it holds are those of blobs nobody
// refers to.
const sweepBatch = 1024

// deleteWorkers is how many blob files are removed at once after a batch
// commits: an unlink waits on the filesystem's journal (or an object
// store's round trip), and a few in flight hide most of that wait.
const deleteWorkers = 8

// sweepBlobs deletes the blobs no manifest refers to, a batch per short
// transaction, then their bytes.
func (r *run) sweepBlobs(ctx context.Context, before time.Time) error {
	var after digest.Digest
	for {
		page, err := r.c.meta.UnreferencedBlobs(ctx, before, after, pageSize)
		if err != nil {
			return fmt.Errorf("gc: %w", err)
		}
		for start := 0; start < len(page); start += sweepBatch {
			if err := r.sweepBatch(ctx, before, page[start:min(start+sweepBatch, len(page))]); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].Digest
	}
}

// sweepBatch deletes the rows of the blobs of batch that are still garbage,
// then their files.
func (r *run) sweepBatch(ctx context.Context, before time.Time, batch []metadata.GarbageBlob) error {
	gone := batch
	if !r.opts.DryRun {
		dgsts := make([]digest.Digest, len(batch))
		for i, b := range batch {
			dgsts[i] = b.Digest
			if r.c.beforeSweep != nil {
				r.c.beforeSweep(b.Digest)
			}
		}
		check := metadata.SweepCheck{Before: before}
		if r.c.whileLocked != nil {
			check.Deleted = func() {
				for _, d := range dgsts {
					r.c.whileLocked(d)
				}
			}
		}
		var err error
		start := time.Now()
		gone, err = r.c.meta.DeleteGarbageBlobs(ctx, dgsts, check)
		r.longestTx = max(r.longestTx, time.Since(start))
		if err != nil {
			return fmt.Errorf("gc: %w", err)
		}
		if err := r.removeBytes(ctx, gone); err != nil {
			return err
		}
	}
	for _, b := range gone {
		r.res.BlobsDeleted++
		r.res.BytesFreed += b.Size
		r.progress()
	}
	return nil
}

// removeBytes deletes the files of blobs whose rows are gone, several at
// once. Each file is kept if a push of the same digest recorded it again
// meanwhile, looked up just before its delete (not once for the batch:
// the window between the look and the delete stays microseconds wide). A
// file already gone is not an error (an earlier run crashed after deleting
// it).
func (r *run) removeBytes(ctx context.Context, gone []metadata.GarbageBlob) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(deleteWorkers)
	for _, b := range gone {
		g.Go(func() error {
			again, err := r.c.meta.HasBlob(gctx, b.Digest)
			if err != nil {
				return fmt.Errorf("gc: %w", err)
			}
			if again {
				r.c.log.Info("blob pushed again while it was collected; its bytes stay", "digest", b.Digest)
				return nil
			}
			if err := r.c.blobs.Delete(gctx, b.Digest); err != nil && !errors.Is(err, storage.ErrNotFound) {
				// The row is gone: the next run finds the file as an orphan.
				return fmt.Errorf("gc: delete blob %s: %w", b.Digest, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// ModTimer is implemented by blob drivers that can tell when a blob's file
// was last written; orphan files are removed only with it, and only once
// older than the grace period.
type ModTimer interface {
	ModTime(ctx context.Context, dgst digest.Digest) (time.Time, error)
}

// orphans removes blob files without a row that are older than the grace
// period: left by a crash between a commit of bytes and of their row, or
// between a sweep's transaction and its file delete. The walk's files are
// looked up pageSize at a time, in one query each.
func (r *run) orphans(ctx context.Context, before time.Time) error {
	lister, ok := r.c.blobs.(storage.Lister)
	mt, ok2 := r.c.blobs.(ModTimer)
	if !ok || !ok2 {
		return nil
	}
	var page []metadata.GarbageBlob
	flush := func() error {
		defer func() { page = page[:0] }()
		return r.orphanPage(ctx, mt, before, page)
	}
	err := lister.Walk(ctx, func(dgst digest.Digest, size int64) error {
		page = append(page, metadata.GarbageBlob{Digest: dgst, Size: size})
		if len(page) < pageSize {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("gc: orphan blob files: %w", err)
	}
	return nil
}

// orphanPage removes the files of page that have no row and are older than
// before.
func (r *run) orphanPage(ctx context.Context, mt ModTimer, before time.Time, page []metadata.GarbageBlob) error {
	dgsts := make([]digest.Digest, len(page))
	for i, f := range page {
		dgsts[i] = f.Digest
	}
	known, err := r.c.meta.RecordedBlobs(ctx, dgsts)
	if err != nil {
		return err
	}
	for _, f := range page {
		if known[f.Digest] {
			continue
		}
		mod, err := mt.ModTime(ctx, f.Digest)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && !mod.Before(before)) {
			continue
		}
		if err != nil {
			return err
		}
		if !r.opts.DryRun {
			// Checked again just before the delete: the upload that wrote
			// the file may have recorded it since the page was looked up.
			if known, err := r.c.meta.HasBlob(ctx, f.Digest); err != nil || known {
				if err != nil {
					return err
				}
				continue
			}
			if err := r.c.blobs.Delete(ctx, f.Digest); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		r.res.OrphansDeleted++
		r.res.BytesFreed += f.Size
		r.progress()
	}
	return nil
}

// uploads removes the upload sessions not updated since before: the row
// first, so that a late PATCH finds the upload unknown rather than writing
// into bytes about to go, then the staged bytes.
func (r *run) uploads(ctx context.Context, before time.Time) error {
	stale, err := r.c.meta.StaleUploads(ctx, before)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	for _, u := range stale {
		if !r.opts.DryRun {
			if err := r.c.meta.DeleteUpload(ctx, u.ID); err != nil {
				return fmt.Errorf("gc: %w", err)
			}
			if err := r.c.blobs.CancelUpload(ctx, u.ID); err != nil {
				return fmt.Errorf("gc: staged bytes of upload %s: %w", u.ID, err)
			}
		}
		r.res.UploadsDeleted++
		r.progress()
	}
	if r.opts.DryRun {
		return nil
	}
	// The lock rows of upload requests that never released them (their
	// server was killed mid-request): expired, so no request holds them.
	n, err := r.c.meta.DropExpiredLeases(ctx, uploadLockPrefix)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	r.res.UploadLocksDeleted += int(n)
	return nil
}

// uploadLockPrefix names the leases that serialise an upload's requests
// across replicas (registry's lockUpload).
const uploadLockPrefix = "upload:"
