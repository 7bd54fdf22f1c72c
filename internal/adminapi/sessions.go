package adminapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/metadata"
)

// Session is a docker login session (a refresh token) as the API shows it:
// never the token.
type Session = accounts.SessionView

func toSession(rt metadata.RefreshToken) Session { return accounts.ViewSession(rt) }

type sessionList struct {
	Sessions []Session `json:"sessions"`
	Next     string    `json:"next,omitempty"`
}

// listSessions answers GET /sessions[?user=]: the live sessions, of any
// backend's accounts, in order of their ids.
func (a *API) listSessions(w http.ResponseWriter, r *http.Request, _ caller) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	user := q.Get("user")
	if q.Has("user") && user == "" {
		return invalid("user", "user is empty; leave it out to list everyone's sessions")
	}
	list, err := a.svc.Sessions(r.Context(), user)
	if err != nil {
		return err
	}
	shown := make([]Session, 0, len(list))
	for _, rt := range list {
		shown = append(shown, toSession(rt))
	}
	slices.SortFunc(shown, func(x, y Session) int { return strings.Compare(x.ID, y.ID) })
	page, last := slice(shown, p, func(s Session) bool { return s.ID > p.last }, func(s Session) string { return s.ID })
	out := sessionList{Sessions: page}
	out.Next = nextLink(w, r, p, last)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revokeSession answers DELETE /sessions/{id}: the session ends at its
// next use.
func (a *API) revokeSession(w http.ResponseWriter, r *http.Request, c caller) error {
	rt, err := a.svc.RevokeSession(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.audit(r, c, "session revoked", "session", rt.ID, "account", rt.Account)
	writeJSON(w, http.StatusOK, toSession(*rt))
	return nil
}

type revoked struct {
	Revoked int64 `json:"revoked"`
}

// revokeSessions answers DELETE /sessions?user=NAME (every session of that
// account, whatever its backend) and DELETE /sessions?all=true (everyone's).
func (a *API) revokeSessions(w http.ResponseWriter, r *http.Request, c caller) error {
	q := r.URL.Query()
	user, all := q.Get("user"), false
	if s := q.Get("all"); s != "" {
		var err error
		if all, err = strconv.ParseBool(s); err != nil {
			return invalid("all", "all %q: want true or false", s)
		}
	}
	if (user != "") == all {
		return invalid("user", "give exactly one of user=NAME (that account's sessions) or all=true (everyone's)")
	}
	var (
		n   int64
		err error
	)
	if all {
		n, err = a.svc.RevokeAllSessions(r.Context())
	} else {
		n, err = a.svc.RevokeSessions(r.Context(), user)
	}
	if err != nil {
		return err
	}
	a.audit(r, c, "sessions revoked", "account", user, "all", all, "count", n)
	writeJSON(w, http.StatusOK, revoked{Revoked: n})
	return nil
}
