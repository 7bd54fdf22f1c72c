package storagecopy

import (
	"context"
	// Registered for their side effect: a digest's Verifier needs its
	// hash linked in.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/progress"
	"wharf/internal/storage"
)

// Options tune a copy.
type Options struct {
	// Jobs is how many blobs are copied at once (at least 1).
	Jobs int
	// DryRun lists what a run would do: it compares names and sizes and
	// writes nothing (a real run reads back and hashes what it skips).
	DryRun bool
	// Progress, when set, shows the bytes done and the time left.
	Progress *progress.Line
	Log      *slog.Logger
}

// ErrFailed is returned, with the report, when at least one blob could not
// be copied; the others were.
var ErrFailed = errors.New("storagecopy: some blobs were not copied")

// uploader is what drivers that stage uploads in files can list: uploads
// in progress, which a copy leaves behind (see Report.StagedUploads).
type uploader interface {
	UploadIDs(ctx context.Context) ([]string, error)
}

// Copy copies every blob of from that to lacks, or holds with other bytes,
// and returns what it did. A blob is written through an upload and
// committed only once its bytes hashed to its digest on the way, so the
// destination never shows a blob it does not fully hold; a blob already
// there is read back and hashed before it counts as copied. The report is
// returned with ErrFailed when some blobs failed, and with the context's
// error when the copy was interrupted.
func Copy(ctx context.Context, from, to *Storage, opt Options) (*Report, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lister, ok := from.Driver.(storage.Lister)
	if !ok {
		return nil, fmt.Errorf("storagecopy: %s cannot list its blobs, so it cannot be a source", from.Spec)
	}
	start := time.Now()
	rep := &Report{From: from.Spec, To: to.Spec, DryRun: opt.DryRun}
	var todo []item
	err := lister.Walk(ctx, func(dgst digest.Digest, size int64) error {
		todo = append(todo, item{dgst, size})
		rep.Blobs++
		rep.Bytes += size
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storagecopy: listing %s: %w", from.Spec, err)
	}
	if up, ok := from.Driver.(uploader); ok {
		ids, err := up.UploadIDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("storagecopy: listing the uploads of %s: %w", from.Spec, err)
		}
		rep.StagedUploads = len(ids)
	}
	c := &copier{from: from.Driver, to: to.Driver, rep: rep, log: log, line: opt.Progress, start: start}
	if c.line != nil {
		c.line.Start(c.draw)
		defer c.line.Finish()
	}
	jobs := max(opt.Jobs, 1)
	queue := make(chan item)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for it := range queue {
				c.one(ctx, it, opt.DryRun)
			}
		})
	}
feed:
	for _, it := range todo {
		select {
		case queue <- it:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if ctx.Err() == nil && !opt.DryRun {
		c.dropLeftovers(ctx, todo)
	}
	rep.finish(time.Since(start))
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("storagecopy: interrupted: %w", err)
	}
	if len(rep.Failed) > 0 {
		return rep, ErrFailed
	}
	return rep, nil
}

// errVanished means a listed blob was no longer at the source.
var errVanished = errors.New("storagecopy: blob deleted at the source since it was listed")

// item is one source blob.
type item struct {
	dgst digest.Digest
	size int64
}

// copier is one run's shared state. The report's counters change under
// mu, which the progress line's draw also takes.
type copier struct {
	from, to storage.Driver
	log      *slog.Logger
	line     *progress.Line
	start    time.Time

	mu   sync.Mutex
	rep  *Report
	done atomic.Int64 // bytes read or written so far, for the rate and ETA
}

// one brings blob it to the destination, or (dry run) says whether it
// would.
func (c *copier) one(ctx context.Context, it item, dryRun bool) {
	if ctx.Err() != nil {
		return
	}
	if dryRun {
		size, err := c.to.Stat(ctx, it.dgst)
		c.count(func(r *Report) {
			if err == nil && size == it.size {
				r.Present++
				r.PresentBytes += it.size
			} else {
				r.Copied++
				r.CopiedBytes += it.size
			}
		})
		c.done.Add(it.size)
		return
	}
	state, err := c.verify(ctx, it)
	switch {
	case err != nil:
		c.fail(ctx, it, err)
		return
	case state == present:
		c.count(func(r *Report) { r.Present++; r.PresentBytes += it.size })
		return
	case state == corrupt:
		// The destination's bytes are not the blob: a copy interrupted by
		// another tool, or a disk's damage. Nobody can be reading it as
		// that blob successfully, so it is replaced.
		if err := c.to.Delete(ctx, it.dgst); err != nil && !errors.Is(err, storage.ErrNotFound) {
			c.fail(ctx, it, fmt.Errorf("removing the destination's damaged copy: %w", err))
			return
		}
		c.log.WarnContext(ctx, "the destination's copy of a blob had other bytes; copying it again", "digest", it.dgst)
	}
	if err := c.copyBlob(ctx, it); err != nil {
		if errors.Is(err, errVanished) {
			// Deleted at the source since it was listed (garbage
			// collection beside a running server): nothing to copy.
			c.count(func(r *Report) { r.Vanished++ })
			return
		}
		c.fail(ctx, it, err)
		return
	}
	c.count(func(r *Report) {
		r.Copied++
		r.CopiedBytes += it.size
		if state == corrupt {
			r.Replaced++
		}
	})
}

// destState is what the destination holds of a blob.
type destState int

const (
	missing destState = iota
	present           // the right bytes, read back and hashed
	corrupt           // something else under the blob's name
)

// verify reads the destination's copy of it, if any, and hashes it.
func (c *copier) verify(ctx context.Context, it item) (destState, error) {
	b, err := c.to.Open(ctx, it.dgst)
	if errors.Is(err, storage.ErrNotFound) {
		return missing, nil
	}
	if err != nil {
		return missing, fmt.Errorf("reading the destination's copy: %w", err)
	}
	defer b.Close()
	if b.Size() != it.size {
		return corrupt, nil
	}
	v := it.dgst.Verifier()
	n, err := io.Copy(v, c.counting(b))
	if err != nil {
		return missing, fmt.Errorf("reading the destination's copy: %w", err)
	}
	if n != it.size || !v.Verified() {
		return corrupt, nil
	}
	return present, nil
}

// copyBlob writes it to the destination through an upload of its own,
// hashing the bytes as they go, and commits it only if they are the blob.
// What a killed run staged for it is hashed and kept, and the copy goes on
// from there; if the whole then does not hash to the digest, the blob is
// copied once more from its first byte before the source is blamed.
func (c *copier) copyBlob(ctx context.Context, it item) error {
	src, err := c.from.Open(ctx, it.dgst)
	if errors.Is(err, storage.ErrNotFound) {
		return errVanished
	}
	if err != nil {
		return fmt.Errorf("reading the source: %w", err)
	}
	defer src.Close()
	resumed, err := c.write(ctx, it, src, true)
	if errors.Is(err, errMismatch) && resumed > 0 {
		c.log.WarnContext(ctx, "an interrupted run's staged bytes were not the blob's; copying it from the start", "digest", it.dgst)
		_, err = c.write(ctx, it, src, false)
	}
	if errors.Is(err, errMismatch) {
		err = fmt.Errorf("the source's bytes do not hash to the blob's digest: the source is damaged, run wharf fsck on it")
	}
	return err
}

// errMismatch means the bytes written do not hash to the blob's digest.
var errMismatch = errors.New("storagecopy: digest mismatch")

// write stages it from src and commits it; with resume it first keeps
// what an earlier run staged, and returns how many bytes that was.
func (c *copier) write(ctx context.Context, it item, src storage.Blob, resume bool) (int64, error) {
	id := uploadID(it.dgst)
	var (
		w    storage.Writer
		v    digest.Verifier
		kept int64
	)
	if resume {
		w, v, kept = c.resume(ctx, id, it)
	}
	if w == nil {
		// Whatever is staged under the id (a run killed before it wrote
		// a byte, or bytes that are not the blob's) goes: nothing is
		// staged twice.
		if err := c.to.CancelUpload(ctx, id); err != nil {
			return 0, fmt.Errorf("dropping an earlier run's staged copy: %w", err)
		}
		var err error
		if w, err = c.to.Upload(ctx, id, -1); err != nil {
			return 0, fmt.Errorf("staging at the destination: %w", err)
		}
		v, kept = it.dgst.Verifier(), 0
	}
	if e, ok := w.(storage.Expecter); ok {
		e.Expect(it.size)
	}
	cancel := func() { _ = w.Cancel(context.WithoutCancel(ctx)) }
	if _, err := src.Seek(kept, io.SeekStart); err != nil {
		cancel()
		return kept, fmt.Errorf("reading the source: %w", err)
	}
	n, err := io.Copy(io.MultiWriter(w, v), c.counting(src))
	if err != nil {
		// Keep what was staged: the next run goes on from there.
		_ = w.Close()
		return kept, fmt.Errorf("copying: %w", err)
	}
	if kept+n != it.size || !v.Verified() {
		cancel()
		return kept, errMismatch
	}
	if err := w.Commit(ctx, it.dgst); err != nil {
		cancel()
		return kept, fmt.Errorf("committing at the destination: %w", err)
	}
	if kept > 0 {
		c.count(func(r *Report) { r.Resumed++; r.ResumedBytes += kept })
	}
	return kept, nil
}

// resume hashes what an earlier run staged for it at the destination and
// reopens the upload after those bytes; nil when there is nothing to go on
// from (or the driver cannot read staged bytes back).
func (c *copier) resume(ctx context.Context, id string, it item) (storage.Writer, digest.Verifier, int64) {
	sr, ok := c.to.(storage.StagedReader)
	if !ok {
		return nil, nil, 0
	}
	r, err := sr.OpenUpload(ctx, id)
	if err != nil {
		return nil, nil, 0
	}
	v := it.dgst.Verifier()
	n, err := io.Copy(v, c.counting(io.LimitReader(r, it.size)))
	r.Close()
	if err != nil || n == 0 {
		return nil, nil, 0
	}
	w, err := c.to.Upload(ctx, id, n) // drops any byte past n
	if err != nil {
		return nil, nil, 0
	}
	return w, v, n
}

// dropLeftovers cancels the uploads a killed run staged for blobs that are
// at the destination now. A run killed between committing a blob and
// removing its upload (S3: the blob object written, its upload state not
// yet deleted) leaves one behind, which this run found the blob present
// and so never touched. A blob still missing keeps what was staged for it:
// the next run goes on from there.
func (c *copier) dropLeftovers(ctx context.Context, todo []item) {
	up, ok := c.to.(uploader)
	if !ok {
		return
	}
	ids, err := up.UploadIDs(ctx)
	if err != nil {
		c.log.Warn("cannot list the destination's uploads to drop what an interrupted run left", "err", err)
		return
	}
	staged := make(map[string]bool, len(ids))
	for _, id := range ids {
		staged[id] = true
	}
	for _, it := range todo {
		id := uploadID(it.dgst)
		if !staged[id] {
			continue
		}
		if _, err := c.to.Stat(ctx, it.dgst); err != nil {
			continue
		}
		if err := c.to.CancelUpload(ctx, id); err != nil {
			c.log.Warn("cannot drop an upload an interrupted run left", "upload", id, "err", err)
			continue
		}
		c.log.Info("dropped an upload an interrupted run left beside its committed blob", "digest", it.dgst)
	}
}

// uploadID is the upload a copy of dgst stages under: the same in every
// run, so that a resumed run finds and drops what a killed one staged.
// Upload ids are at most 128 characters; 100 hex characters of a digest
// still name one blob.
func uploadID(dgst digest.Digest) string {
	enc := dgst.Encoded()
	if len(enc) > 100 {
		enc = enc[:100]
	}
	return "migrate-" + string(dgst.Algorithm()) + "-" + enc
}

func (c *copier) fail(ctx context.Context, it item, err error) {
	if ctx.Err() != nil {
		return // interrupted, not failed: the next run copies it
	}
	c.log.ErrorContext(ctx, "blob not copied", "digest", it.dgst, "err", err)
	c.count(func(r *Report) {
		r.Failed = append(r.Failed, Failure{Digest: it.dgst, Size: it.size, Error: err.Error()})
	})
}

// count changes the report under the lock the progress line draws with.
func (c *copier) count(fn func(*Report)) {
	if c.line != nil {
		c.line.Update(func() { fn(c.rep) })
		return
	}
	c.mu.Lock()
	fn(c.rep)
	c.mu.Unlock()
}

// counting adds what r reads to the bytes done.
func (c *copier) counting(r io.Reader) io.Reader { return &countingReader{r: r, n: &c.done} }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// draw is the progress line: blobs and bytes done, the rate, the time left.
func (c *copier) draw() string {
	r := c.rep
	blobs := r.Copied + r.Present + r.Vanished + int64(len(r.Failed))
	done := c.done.Load()
	elapsed := time.Since(c.start)
	line := fmt.Sprintf("%d/%d blobs, %s/%s", blobs, r.Blobs, progress.Bytes(done), progress.Bytes(r.Bytes))
	if secs := elapsed.Seconds(); secs >= 1 && done > 0 {
		rate := float64(done) / secs
		left := time.Duration(float64(r.Bytes-done) / rate * float64(time.Second))
		line += fmt.Sprintf(", %s/s, ETA %s", progress.Bytes(int64(rate)), left.Round(time.Second))
	}
	return line
}
