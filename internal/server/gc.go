package server

import (
	"context"
	"errors"
	"fmt"

	"wharf/internal/adminapi"
	"wharf/internal/gc"
	"wharf/internal/storage/filesystem"
)

// setupGC builds the garbage collection schedule of a server that serves
// the registry (gc: in wharf.yml); Serve runs its loop, the admin API
// starts runs and reads the last one.
func (s *Server) setupGC() error {
	blobs, err := filesystem.New(s.dir.Blobs())
	if err != nil {
		return fmt.Errorf("server: blob storage: %w", err)
	}
	g := s.cfg.GC
	c := gc.New(s.meta, blobs, s.log, "wharf serve")
	s.gc = gc.NewSchedule(c, gc.Options{Grace: g.Grace.Std(), UploadsGrace: g.UploadsGrace.Std(), DeleteUntagged: g.DeleteUntagged},
		g.Interval.Std())
	return nil
}

// adminGC adapts the schedule to the admin API, which knows no storage.
type adminGC struct{ s *gc.Schedule }

func (a adminGC) Start(ctx context.Context, dryRun, deleteUntagged bool) error {
	_, err := a.s.Start(ctx, dryRun, deleteUntagged)
	if errors.Is(err, gc.ErrBusy) {
		return fmt.Errorf("%w: %w", adminapi.ErrGCBusy, err)
	}
	return err
}

func (a adminGC) Status(ctx context.Context) (any, error) { return a.s.Status(ctx) }

// adminGCOrNil is the admin API's GC, nil when this server collects none.
func (s *Server) adminGCOrNil() adminapi.GC {
	if s.gc == nil {
		return nil
	}
	return adminGC{s.gc}
}
