package server

import (
	"context"
	"errors"
	"fmt"

	"wharf/internal/adminapi"
	"wharf/internal/errcode"
	"wharf/internal/gc"
	"wharf/internal/metrics"
)

// setupGC builds the garbage collection schedule of a server that serves
// the registry (gc: in wharf.yml); Serve runs its loop, the admin API
// starts runs and reads the last one.
func (s *Server) setupGC(ctx context.Context) error {
	blobs, err := s.blobStore(ctx)
	if err != nil {
		return err
	}
	g := s.cfg.GC
	c := gc.New(s.meta, blobs, s.log, "wharf serve")
	s.gc = gc.NewSchedule(c, gc.Options{Grace: g.Grace.Std(), UploadsGrace: g.UploadsGrace.Std(), DeleteUntagged: g.DeleteUntagged,
		LeaseTTL: g.LeaseTTL.Std(), ReadOnly: s.cfg.ReadOnly},
		g.Interval.Std())
	if s.metrics != nil {
		s.gc.Done = func(r gc.Result, err error) {
			run := metrics.GCRun{Err: err, Duration: r.Duration, Ended: r.Finished, UploadsOnly: r.UploadsOnly}
			if !r.DryRun {
				run.Blobs, run.Bytes, run.Uploads = int64(r.BlobsDeleted+r.OrphansDeleted), r.BytesFreed, int64(r.UploadsDeleted)
			}
			s.metrics.GCDone(run)
		}
	}
	return nil
}

// adminGC is the admin API's view of the schedule, nil when this server
// collects none.
func (s *Server) adminGC() *adminapi.GC {
	if s.gc == nil {
		return nil
	}
	return &adminapi.GC{
		Start: func(ctx context.Context, dryRun, deleteUntagged bool) error {
			_, err := s.gc.Start(ctx, dryRun, deleteUntagged)
			switch {
			case errors.Is(err, gc.ErrBusy):
				return fmt.Errorf("%w: %w", adminapi.ErrGCBusy, err)
			case errors.Is(err, gc.ErrReadOnly):
				return &errcode.Error{Code: errcode.AdminConflict, Message: err.Error()}
			}
			return err
		},
		Status: func(ctx context.Context) (any, error) { return s.gc.Status(ctx) },
	}
}
