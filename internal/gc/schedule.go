package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"wharf/internal/metadata"
)

// Schedule runs a server's collections in the background: every interval,
// and on request (the admin API). It remembers the last run's Result.
type Schedule struct {
	c        *Collector
	base     Options
	interval time.Duration
	log      *slog.Logger

	// Done, when set before the first run, is told of every run that
	// ran (not one another replica's lease refused, nor an uploads pass
	// a read-only registry skipped), uploads-only passes included
	// (Result.UploadsOnly): the metrics.
	Done func(r Result, err error)

	mu      sync.Mutex
	running *Options // the options of the run in progress, nil when idle
	last    *Result
	done    chan struct{} // closed when the run in progress ends
}

// NewSchedule runs c with base (Grace, UploadsGrace and the scheduled
// runs' DeleteUntagged) every interval; interval 0 runs only on request.
func NewSchedule(c *Collector, base Options, interval time.Duration) *Schedule {
	return &Schedule{c: c, base: base, interval: interval, log: c.log}
}

// Loop runs the scheduled collections until ctx ends, and between them
// the uploads-only passes, every quarter of UploadsGrace (at most an
// hour): an abandoned upload's staged bytes go soon after their grace
// even when full collections are rare or off (interval 0). Another
// replica's collection in progress is not an error: this one waits for
// the next tick.
func (s *Schedule) Loop(ctx context.Context) {
	var full <-chan time.Time
	if s.interval > 0 {
		t := time.NewTicker(s.interval)
		defer t.Stop()
		full = t.C
	}
	up := time.NewTicker(s.uploadsEvery())
	defer up.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-full:
			done, err := s.Start(ctx, s.base.DryRun, s.base.DeleteUntagged)
			if err == nil {
				<-done
			} else if errors.Is(err, ErrReadOnly) {
				s.logRun(Result{}, err)
			}
		case <-up.C:
			s.purgeUploads(ctx)
		}
	}
}

// uploadsEvery is the period of the uploads-only passes.
func (s *Schedule) uploadsEvery() time.Duration {
	g := s.base.UploadsGrace
	if g <= 0 {
		g = DefaultUploadsGrace
	}
	return min(g/4, time.Hour)
}

// purgeUploads runs one uploads-only pass, unless a run of this server is
// in progress (a full run removes them too). It marks itself running, so
// that a full run asked for meanwhile hears ErrBusy at once rather than
// failing later in its Result.
func (s *Schedule) purgeUploads(ctx context.Context) {
	opts := s.base
	opts.UploadsOnly, opts.DeleteUntagged = true, false
	s.mu.Lock()
	if s.running != nil {
		s.mu.Unlock()
		return
	}
	s.running = &opts
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = nil
		s.mu.Unlock()
	}()
	res, err := s.c.Run(ctx, opts)
	if s.Done != nil && !errors.Is(err, ErrBusy) && !errors.Is(err, ErrReadOnly) {
		s.Done(res, err)
	}
	switch {
	case errors.Is(err, ErrBusy):
		// Another replica collects, uploads included.
	case errors.Is(err, ErrReadOnly):
		s.log.Debug("idle upload sessions kept: the registry is read-only", "err", err)
	case err != nil:
		s.log.Warn("removing idle upload sessions failed", "err", err, "uploads_deleted", res.UploadsDeleted)
	case res.UploadsDeleted > 0 || res.UploadLocksDeleted > 0:
		s.log.Info("removed idle upload sessions", "uploads_deleted", res.UploadsDeleted, "upload_locks_deleted", res.UploadLocksDeleted,
			"uploads_grace", opts.UploadsGrace, "dry_run", res.DryRun)
	}
}

// Start begins a run in the background and returns a channel closed when
// it ends; it returns ErrBusy when a run of this server is in progress.
// A collection running elsewhere makes the run itself end with ErrBusy
// (in its Result's Error).
func (s *Schedule) Start(ctx context.Context, dryRun, deleteUntagged bool) (<-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != nil {
		return nil, fmt.Errorf("%w on this server", ErrBusy)
	}
	opts := s.base
	opts.DryRun, opts.DeleteUntagged = dryRun, deleteUntagged
	// Checked here too, so that whoever asked hears it at once.
	if err := s.c.checkWritable(ctx, opts); err != nil {
		return nil, err
	}
	s.running = &opts
	s.done = make(chan struct{})
	done := s.done
	go func() {
		defer close(done)
		// The run outlives the request that started it, not the server.
		res, err := s.c.Run(context.WithoutCancel(ctx), opts)
		s.logRun(res, err)
		if s.Done != nil && !errors.Is(err, ErrBusy) {
			s.Done(res, err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.running = nil
		// A refusal by the lease (another replica collects) ran nothing:
		// the last run stays the last one that did.
		if !errors.Is(err, ErrBusy) {
			s.last = &res
		}
	}()
	return done, nil
}

func (s *Schedule) logRun(r Result, err error) {
	attrs := []any{"dry_run", r.DryRun, "delete_untagged", r.DeleteUntagged,
		"manifests_deleted", r.ManifestsDeleted, "blobs_deleted", r.BlobsDeleted, "bytes_freed", r.BytesFreed,
		"orphans_deleted", r.OrphansDeleted, "uploads_deleted", r.UploadsDeleted, "duration", r.Duration}
	switch {
	case errors.Is(err, ErrBusy):
		s.log.Info("garbage collection skipped: another one is running", "err", err)
	case errors.Is(err, ErrReadOnly):
		s.log.Info("garbage collection skipped: the registry is read-only", "err", err)
	case err != nil:
		s.log.Warn("garbage collection failed", append(attrs, "err", err)...)
	default:
		s.log.Info("garbage collection done", attrs...)
	}
}

// Last returns this server's last finished run, and false before the
// first: what metrics report (runs, bytes freed, duration).
func (s *Schedule) Last() (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return Result{}, false
	}
	return *s.last, true
}

// Status is what GET /api/v1/gc shows.
type Status struct {
	// Running is true while a run of this server is in progress.
	Running bool `json:"running"`
	// Lease names the collection holding the database's lease (this
	// server's or another replica's), when one does.
	Lease *LeaseView `json:"lease,omitempty"`
	// Last is this server's last finished run, if any.
	Last *Result `json:"last,omitempty"`
}

// LeaseView is a lease as Status shows it.
type LeaseView struct {
	Holder    string    `json:"holder"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Status reports the run in progress, the lease and the last run.
func (s *Schedule) Status(ctx context.Context) (Status, error) {
	s.mu.Lock()
	st := Status{Running: s.running != nil}
	if s.last != nil {
		last := *s.last
		st.Last = &last
	}
	s.mu.Unlock()
	l, err := s.c.meta.CurrentLease(ctx, leaseName)
	if err != nil {
		return Status{}, fmt.Errorf("gc: %w", err)
	}
	if l != (metadata.Lease{}) {
		st.Lease = &LeaseView{Holder: l.Holder, ExpiresAt: l.ExpiresAt}
	}
	return st, nil
}
