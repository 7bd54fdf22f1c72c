package ui

import (
	"errors"
	"net/http"
	"net/url"

	"wharf/internal/errcode"
	"wharf/internal/metadata"
)

// auditPage is how many audit records a page shows.
const auditPage = 100

type auditData struct {
	Session            *session
	User, Repo, Action string
	Records            []metadata.AuditRecord
	Next               string
}

// auditLog shows the audit log, newest first, filtered by user,
// repository and action (each exact, as the admin API's filter), a page
// at a time: the database pages it on its index, with the cursor of
// metadata.ListAudit.
func (u *UI) auditLog(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := auditData{Session: s, User: q.Get("user"), Repo: q.Get("repo"), Action: q.Get("action")}
	cursor := q.Get("cursor")
	if len(d.User) > maxQuery || len(d.Repo) > maxQuery || len(d.Action) > maxQuery || len(cursor) > maxQuery {
		u.fail(w, r, errcode.PageInvalid, "The filter is too long.", nil)
		return
	}
	recs, next, err := u.cfg.Accounts.Store().ListAudit(r.Context(), metadata.AuditQuery{Actor: d.User, Repository: d.Repo, Action: d.Action,
		Cursor: cursor, Limit: auditPage})
	if errors.Is(err, metadata.ErrBadCursor) {
		u.fail(w, r, errcode.PageInvalid, "That page of the audit log does not exist; open the first page again.", nil)
		return
	}
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The audit log cannot be read now; try again later.", err)
		return
	}
	d.Records = recs
	if next != "" {
		v := url.Values{"cursor": {next}}
		for k, val := range map[string]string{"user": d.User, "repo": d.Repo, "action": d.Action} {
			if val != "" {
				v.Set(k, val)
			}
		}
		d.Next = Prefix + "admin/audit?" + v.Encode()
	}
	u.render(w, r, http.StatusOK, "admin_audit.html", d)
}
