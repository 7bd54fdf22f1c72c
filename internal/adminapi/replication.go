package adminapi

import (
	"context"
	"errors"
	"net/http"

	"wharf/internal/errcode"
)

// Replication reports and runs the replication rules; the server builds it
// over its runner (internal/replicate), which this package does not import.
type Replication struct {
	// Status is the JSON-ready list of rules with their queues and records.
	Status func(ctx context.Context) (any, error)
	// Run runs a whole rule now and returns what it did; an error wrapping
	// ErrNoRule names a rule the configuration does not hold.
	Run func(ctx context.Context, rule string) (any, error)
}

// ErrNoRule is what Replication.Run wraps for an unknown rule.
var ErrNoRule = errors.New("adminapi: no such replication rule")

var errNoReplication = &errcode.Error{Code: errcode.AdminNotFound,
	Message: "this server has no replication rules (replication.rules in wharf.yml, docs/replication.md)"}

// getReplication answers GET /replication: every rule, its backlog of
// pushes to copy, its counts and its last error.
func (a *API) getReplication(w http.ResponseWriter, r *http.Request, _ caller) error {
	if a.cfg.Replication == nil || a.cfg.Replication() == nil {
		return errNoReplication
	}
	st, err := a.cfg.Replication().Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": st})
	return nil
}

// runReplication answers POST /replication/{rule}/run: the whole rule runs
// now, and the answer says what it copied.
func (a *API) runReplication(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.cfg.Replication == nil || a.cfg.Replication() == nil {
		return errNoReplication
	}
	rule := r.PathValue("rule")
	res, err := a.cfg.Replication().Run(r.Context(), rule)
	if errors.Is(err, ErrNoRule) {
		return &errcode.Error{Code: errcode.AdminNotFound, Message: "no replication rule is named " + quote(rule) + "; GET /api/v1/replication lists them"}
	}
	if err != nil {
		return err
	}
	a.audit(r, c, "replication rule run", "rule", rule)
	writeJSON(w, http.StatusOK, res)
	return nil
}
