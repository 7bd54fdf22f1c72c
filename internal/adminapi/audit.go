package adminapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"wharf/internal/audit"
	"wharf/internal/metadata"
)

type auditList struct {
	Records []audit.View `json:"records"`
	// Next is the URL of the next (older) page; Cursor its cursor.
	Next   string `json:"next,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// listAudit answers GET /audit?user=&repo=&action=&since=&until=&cursor=&limit=:
// the audit log, newest first, a page at a time.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request, _ caller) error {
	q := r.URL.Query()
	f := audit.Filter{User: q.Get("user"), Repo: q.Get("repo"), Action: q.Get("action"),
		Since: q.Get("since"), Until: q.Get("until"), Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" || q.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > audit.MaxLimit {
			return invalid("limit", "limit %q: want a page size from 1 to %d", s, audit.MaxLimit)
		}
		f.Limit = n
	}
	query, err := f.Query(a.cfg.Now())
	var fe *audit.FilterError
	if errors.As(err, &fe) {
		return invalid(fe.Field, "%s: %s", fe.Field, fe.Message)
	}
	recs, next, err := a.svc.Store().ListAudit(r.Context(), query)
	if errors.Is(err, metadata.ErrBadCursor) {
		return invalid("cursor", "cursor %q is not one a previous page returned", f.Cursor)
	}
	if err != nil {
		return err
	}
	out := auditList{Records: make([]audit.View, 0, len(recs)), Cursor: next}
	for _, rec := range recs {
		out.Records = append(out.Records, audit.ViewOf(rec))
	}
	if next != "" {
		q.Set("cursor", next)
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		out.Next = u.String()
		w.Header().Set("Link", "<"+out.Next+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
