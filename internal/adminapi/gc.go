package adminapi

import (
	"context"
	"errors"
	"net/http"

	"wharf/internal/errcode"
)

// GC runs and reports garbage collections; the server builds it over its
// schedule (internal/gc), which this package does not import: it would
// bring the blob storage in.
type GC struct {
	// Start begins a collection in the background; an error wrapping
	// ErrGCBusy means one of this server is already running.
	Start func(ctx context.Context, dryRun, deleteUntagged bool) error
	// Status is the JSON-ready state: running, the lease, the last run.
	Status func(ctx context.Context) (any, error)
}

// ErrGCBusy is what GC.Start wraps when a collection is already running.
var ErrGCBusy = errors.New("adminapi: a garbage collection is already running")

type gcRequest struct {
	DryRun         bool `json:"dry_run"`
	DeleteUntagged bool `json:"delete_untagged"`
}

// getGC answers GET /gc: whether a collection runs, who holds the lease,
// and the last run's summary.
func (a *API) getGC(w http.ResponseWriter, r *http.Request, _ caller) error {
	if a.cfg.GC == nil {
		return &errcode.Error{Code: errcode.AdminNotFound, Message: "garbage collection is not available on this server (it serves no registry)"}
	}
	st, err := a.cfg.GC.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// startGC answers POST /gc {"dry_run": bool, "delete_untagged": bool}: a
// collection starts in the background (202); GET /gc follows it.
func (a *API) startGC(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.cfg.GC == nil {
		return &errcode.Error{Code: errcode.AdminNotFound, Message: "garbage collection is not available on this server (it serves no registry)"}
	}
	var req gcRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := a.cfg.GC.Start(r.Context(), req.DryRun, req.DeleteUntagged); err != nil {
		if errors.Is(err, ErrGCBusy) {
			return &errcode.Error{Code: errcode.AdminConflict, Message: "a garbage collection is already running on this server; GET /api/v1/gc follows it"}
		}
		return err
	}
	a.audit(r, c, "garbage collection started", "dry_run", req.DryRun, "delete_untagged", req.DeleteUntagged)
	st, err := a.cfg.GC.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, st)
	return nil
}
