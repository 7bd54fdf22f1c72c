package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"wharf/internal/errcode"
	"wharf/internal/metadata"
	"wharf/internal/retention"
)

// ReadOnlyView is read-only mode as the API shows it. Configured is the
// configuration's read_only, which the API cannot lift; Enabled and
// Reason are what was set at runtime.
type ReadOnlyView struct {
	ReadOnly   bool       `json:"read_only"`
	Reason     string     `json:"reason"`
	Configured bool       `json:"configured"`
	UpdatedAt  *time.Time `json:"updated_at,omitempty"`
}

type readOnlyRequest struct {
	ReadOnly *bool  `json:"read_only"`
	Reason   string `json:"reason"`
}

type retentionRequest struct {
	DryRun *bool `json:"dry_run"`
}

func (a *API) readOnlyView(r *http.Request) (ReadOnlyView, error) {
	if a.cfg.Meta == nil {
		return ReadOnlyView{}, errors.New("adminapi: no metadata store")
	}
	st, err := a.cfg.Meta.ReadOnly(r.Context())
	if err != nil {
		return ReadOnlyView{}, err
	}
	v := ReadOnlyView{ReadOnly: st.Enabled || a.cfg.ReadOnlyConfigured, Reason: st.Reason, Configured: a.cfg.ReadOnlyConfigured}
	if !st.UpdatedAt.IsZero() {
		v.UpdatedAt = &st.UpdatedAt
	}
	return v, nil
}

// getReadOnly answers GET /read-only.
func (a *API) getReadOnly(w http.ResponseWriter, r *http.Request, _ caller) error {
	v, err := a.readOnlyView(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// putReadOnly answers PUT /read-only: every replica sharing the database
// refuses (or accepts again) pushes and deletes within seconds.
func (a *API) putReadOnly(w http.ResponseWriter, r *http.Request, c caller) error {
	var req readOnlyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.ReadOnly == nil {
		return invalid("read_only", "read_only is required: true refuses pushes and deletes, false accepts them again")
	}
	reason := strings.TrimSpace(req.Reason)
	if err := a.cfg.Meta.SetReadOnly(r.Context(), *req.ReadOnly, reason); err != nil {
		if errors.Is(err, metadata.ErrInvalidKey) {
			return invalid("reason", "%s", strings.TrimPrefix(err.Error(), metadata.ErrInvalidKey.Error()+": "))
		}
		return err
	}
	a.audit(r, c, "read-only mode set", "read_only", *req.ReadOnly, "reason", quote(reason))
	v, err := a.readOnlyView(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// runRetention answers POST /retention: one run of the retention
// policies, or with dry_run what it would remove; the report either way.
func (a *API) runRetention(w http.ResponseWriter, r *http.Request, c caller) error {
	var req retentionRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.DryRun == nil {
		return invalid("dry_run", "dry_run is required: true reports what would be removed, false removes it")
	}
	if a.cfg.Retention == nil {
		return &errcode.Error{Code: errcode.AdminNotFound, Message: "retention runs where the registry is served (wharf serve)"}
	}
	rep, err := a.cfg.Retention.Run(r.Context(), *req.DryRun)
	if errors.Is(err, retention.ErrReadOnly) {
		return &errcode.Error{Code: errcode.AdminConflict, Field: "dry_run", Message: strings.TrimPrefix(err.Error(), "retention: ")}
	}
	if err != nil {
		return err
	}
	a.audit(r, c, "retention run", "dry_run", *req.DryRun, "untagged", rep.Untagged, "deleted", rep.Deleted)
	writeJSON(w, http.StatusOK, rep)
	return nil
}
