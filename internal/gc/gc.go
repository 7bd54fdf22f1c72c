package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/storage"
)

// Defaults of Options, also those of wharf.yml's gc: section.
const (
	// DefaultGrace keeps a blob or manifest for a day after it was last
	// pushed, linked or mounted: a client between its blob uploads and
	// its manifest PUT has that long.
	DefaultGrace = 24 * time.Hour
	// DefaultUploadsGrace is gc.uploads_grace's default: a docker push resumes
	// an interrupted upload within minutes, not days, and staged bytes
	// count against the disk. distribution waits 168h, which on a busy
	// registry keeps a week of failed pushes on disk.
	DefaultUploadsGrace = 24 * time.Hour
)

// leaseName names the collector's row in gc_leases.
const leaseName = "gc"

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal
// (renewed every third of it) unless Options say otherwise: a collector
// killed mid-run keeps the others out that long, and a holder whose
// renewals fail for that long stops.
const DefaultLeaseTTL = time.Minute

// pageSize is how many candidates one query returns: at least sweepBatch,
// so that a batch is not cut short by its page.
const pageSize = sweepBatch

// ErrBusy means another collector holds the lease: errors.As the error to
// a *metadata.LeaseHeldError for who and until when.
var ErrBusy = errors.New("gc: another garbage collection is running")

// ErrReadOnly refuses a run that would delete while the registry is
// read-only (a dry run is allowed): read-only mode is for maintenance, and
// an operator who set it expects the content to stay as it is.
var ErrReadOnly = errors.New("gc: the registry is read-only")

// Options says what one run does.
type Options struct {
	// ReadOnly is the configuration's read_only: like read-only mode set
	// in the database, it refuses every run but a dry run.
	ReadOnly bool
	// Grace: anything pushed, linked or mounted more recently is kept.
	Grace time.Duration
	// UploadsGrace: upload sessions updated more recently are kept.
	UploadsGrace time.Duration
	// LeaseTTL is how long the lease outlives this run's last renewal
	// (default DefaultLeaseTTL).
	LeaseTTL time.Duration
	// DeleteUntagged deletes the manifests no tag, kept index or kept
	// subject keeps, before the blobs are swept.
	DeleteUntagged bool
	// UploadsOnly runs the uploads phase alone: the frequent pass that
	// removes idle upload sessions between full collections.
	UploadsOnly bool
	// DryRun counts what would be deleted and deletes nothing. Manifests
	// that only an untagged index keeps are not counted (their index is
	// not deleted).
	DryRun bool
	// Progress, when set, is called after each item with the counts so
	// far; it must be quick.
	Progress func(Result)
}

// Result is the summary of one run, read by the command, the server's log
// line, the admin API and metrics.
type Result struct {
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Duration time.Duration `json:"duration_ns"`
	DryRun   bool          `json:"dry_run"`
	// DeleteUntagged says whether untagged manifests were collected.
	DeleteUntagged   bool  `json:"delete_untagged"`
	ManifestsDeleted int   `json:"manifests_deleted"`
	BlobsDeleted     int   `json:"blobs_deleted"`
	BytesFreed       int64 `json:"bytes_freed"`
	// OrphansDeleted counts blob files that had no row (a crash between
	// writing the bytes and recording them, or between a sweep's commit
	// and its file delete); their bytes are in BytesFreed too.
	OrphansDeleted int `json:"orphans_deleted"`
	UploadsDeleted int `json:"uploads_deleted"`
	// UploadLocksDeleted counts expired upload locks removed from the
	// database: left by a server killed during an upload's request.
	UploadLocksDeleted int `json:"upload_locks_deleted,omitempty"`
	// UploadsOnly says the run was an uploads-only pass.
	UploadsOnly bool `json:"uploads_only,omitempty"`
	// Error is why the run stopped early; empty when it completed.
	Error string `json:"error,omitempty"`
}

// Collector runs garbage collections against one metadata store and blob
// driver. It is safe for concurrent use: runs of one Collector, and of
// Collectors in other processes, take turns through the lease.
type Collector struct {
	meta   *metadata.Store
	blobs  storage.Driver
	log    *slog.Logger
	holder string
	// now is the clock (tests move it forward to age everything).
	now func() time.Time
	// beforeSweep and whileLocked, when set, run before each blob's
	// delete transaction and inside it, with the row deleted and locked
	// (tests of the race with a push).
	beforeSweep, whileLocked func(digest.Digest)
	mu                       sync.Mutex // one run of this Collector at a time
}

// New returns a collector. holder names this process in the lease (a
// second collector reports it): for example "wharf serve on host1".
func New(meta *metadata.Store, blobs storage.Driver, log *slog.Logger, holder string) *Collector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	if holder == "" {
		holder = "wharf"
	}
	holder = fmt.Sprintf("%s on %s (pid %d)", holder, host, os.Getpid())
	return &Collector{meta: meta, blobs: blobs, log: log.With("component", "gc"), holder: holder, now: time.Now}
}

// Run takes the lease and collects; it returns ErrBusy (wrapping the
// holder's *metadata.LeaseHeldError) when another collection is running.
// The Result counts what was done even when an error stopped the run.
func (c *Collector) Run(ctx context.Context, opts Options) (Result, error) {
	if !c.mu.TryLock() {
		return Result{}, fmt.Errorf("%w: %s", ErrBusy, c.holder)
	}
	defer c.mu.Unlock()
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.UploadsGrace <= 0 {
		opts.UploadsGrace = DefaultUploadsGrace
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if err := c.checkWritable(ctx, opts); err != nil {
		return Result{}, err
	}
	if _, err := c.meta.AcquireLease(ctx, leaseName, c.holder, opts.LeaseTTL); err != nil {
		if held := (*metadata.LeaseHeldError)(nil); errors.As(err, &held) {
			return Result{}, fmt.Errorf("%w (%w)", ErrBusy, held)
		}
		return Result{}, fmt.Errorf("gc: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		c.renew(ctx, opts.LeaseTTL, cancel)
	}()
	r := &run{c: c, opts: opts, res: Result{Started: time.Now().UTC(), DryRun: opts.DryRun, DeleteUntagged: opts.DeleteUntagged,
		UploadsOnly: opts.UploadsOnly}}
	err := r.all(ctx)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	cancel(nil)
	<-renewed
	// Released with a fresh context: the run's may be cancelled.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	if rerr := c.meta.ReleaseLease(rctx, leaseName, c.holder); rerr != nil {
		c.log.Warn("releasing the gc lease failed; it expires by itself", "err", rerr, "ttl", opts.LeaseTTL)
	}
	r.res.Finished = time.Now().UTC()
	r.res.Duration = r.res.Finished.Sub(r.res.Started)
	if err != nil {
		r.res.Error = err.Error()
	}
	return r.res, err
}

// checkWritable refuses a run that deletes while the registry is
// read-only, by configuration or in the database.
func (c *Collector) checkWritable(ctx context.Context, opts Options) error {
	if opts.DryRun {
		return nil
	}
	if opts.ReadOnly {
		return fmt.Errorf("%w (read_only is set in the configuration); --dry-run reports without deleting", ErrReadOnly)
	}
	st, err := c.meta.ReadOnly(ctx)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	if st.Enabled {
		return fmt.Errorf("%w (%s); a dry run reports without deleting, or turn read-only mode off first", ErrReadOnly, st.Reason)
	}
	return nil
}

// renew keeps the lease until ctx ends; losing it stops the run.
func (c *Collector) renew(ctx context.Context, ttl time.Duration, stop context.CancelCauseFunc) {
	c.meta.KeepLease(ctx, leaseName, c.holder, ttl, func(err error) {
		stop(fmt.Errorf("gc: renewing the lease: %w", err))
	})
}

// run is the state of one collection.
type run struct {
	c    *Collector
	opts Options
	res  Result
	// longestTx is the longest delete transaction so far: how long a
	// push may have waited for the collector's write lock on SQLite.
	longestTx time.Duration
}

func (r *run) progress() {
	if r.opts.Progress != nil {
		r.opts.Progress(r.res)
	}
}

// all runs the phases in order: manifests first, so that their blobs are
// garbage in the same run.
func (r *run) all(ctx context.Context) error {
	if r.opts.UploadsOnly {
		return r.uploads(ctx, r.c.now().Add(-r.opts.UploadsGrace))
	}
	before := r.c.now().Add(-r.opts.Grace)
	if r.opts.DeleteUntagged {
		if err := r.timed(ctx, "untagged manifests", r.manifests); err != nil {
			return err
		}
	}
	phases := []struct {
		name string
		fn   func(context.Context, time.Time) error
	}{{"blobs", r.sweepBlobs}, {"orphan files", r.orphans}}
	for _, p := range phases {
		if err := r.timed(ctx, p.name, func(ctx context.Context) error { return p.fn(ctx, before) }); err != nil {
			return err
		}
	}
	return r.timed(ctx, "uploads", func(ctx context.Context) error {
		return r.uploads(ctx, r.c.now().Add(-r.opts.UploadsGrace))
	})
}

// timed runs one phase and logs how long it took at debug level: where a
// slow collection spends its time, without a profiler.
func (r *run) timed(ctx context.Context, phase string, fn func(context.Context) error) error {
	start := time.Now()
	err := fn(ctx)
	r.c.log.DebugContext(ctx, "gc phase finished", "phase", phase, "took", time.Since(start).Round(time.Microsecond),
		"blobs", r.res.BlobsDeleted, "manifests", r.res.ManifestsDeleted, "orphans", r.res.OrphansDeleted, "uploads", r.res.UploadsDeleted,
		"longest_tx", r.longestTx.Round(time.Microsecond))
	return err
}
