package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/errcode"
)

// The administration pages are for the accounts the admin API lets in:
// those the ACL grants admin:api:*, decided by the same authorizer chain
// for the session's identity. Every change goes through accounts.Service,
// as the admin API's and the CLI's do, so the same checks refuse it (the
// last administrator) and the audit log records it, with the account and
// "ui" as its actor.

// adminPage is how many rows an administration list shows.
const adminPage = 50

func (u *UI) adminRoutes(mux *http.ServeMux) {
	a := Prefix + "admin/"
	mux.HandleFunc("GET "+a+"{$}", u.admin(func(w http.ResponseWriter, r *http.Request, _ *session) {
		http.Redirect(w, r, a+"users", http.StatusFound)
	}))
	mux.HandleFunc("GET "+a+"users", u.admin(u.usersPage))
	mux.HandleFunc("POST "+a+"users", u.admin(u.addUser))
	mux.HandleFunc("POST "+a+"users/{name}/disable", u.admin(u.setDisabled(true)))
	mux.HandleFunc("POST "+a+"users/{name}/enable", u.admin(u.setDisabled(false)))
	mux.HandleFunc("POST "+a+"users/{name}/password", u.admin(u.resetPassword))
	mux.HandleFunc("GET "+a+"users/{name}/remove", u.admin(u.confirmRemoveUser))
	mux.HandleFunc("POST "+a+"users/{name}/remove", u.admin(u.removeUser))
	mux.HandleFunc("GET "+a+"teams", u.admin(u.teamsPage))
	mux.HandleFunc("POST "+a+"teams", u.admin(u.addTeam))
	mux.HandleFunc("POST "+a+"teams/{name}/remove", u.admin(u.removeTeam))
	mux.HandleFunc("POST "+a+"teams/{name}/members", u.admin(u.addMember))
	mux.HandleFunc("POST "+a+"teams/{name}/members/{user}/remove", u.admin(u.removeMember))
	mux.HandleFunc("GET "+a+"rules", u.admin(u.rulesPage))
	mux.HandleFunc("POST "+a+"rules", u.admin(u.addRule))
	mux.HandleFunc("POST "+a+"rules/{id}/move", u.admin(u.moveRule))
	mux.HandleFunc("POST "+a+"rules/{id}/remove", u.admin(u.removeRule))
	mux.HandleFunc("GET "+a+"tokens", u.admin(u.tokensPage))
	mux.HandleFunc("POST "+a+"tokens", u.admin(u.createToken))
	mux.HandleFunc("POST "+a+"tokens/{id}/revoke", u.admin(u.revokeToken))
	mux.HandleFunc("GET "+a+"sessions", u.admin(u.sessionsPage))
	mux.HandleFunc("POST "+a+"sessions/{id}/revoke", u.admin(u.revokeSession))
	mux.HandleFunc("GET "+a+"audit", u.admin(u.auditLog))
	mux.HandleFunc("GET "+a+"usage", u.admin(u.usagePage))
	mux.HandleFunc("POST "+a+"retention", u.admin(u.retentionDryRun))
	mux.HandleFunc("GET "+Prefix+"ca.crt", u.signedIn(u.caCert))
	mux.HandleFunc("GET "+Prefix+"me", u.signedIn(u.mePage))
	mux.HandleFunc("POST "+Prefix+"me/tokens", u.signedIn(u.createMyToken))
	mux.HandleFunc("POST "+Prefix+"me/tokens/{id}/revoke", u.signedIn(u.revokeMyToken))
}

// administers reports whether the ACL grants the session the admin API's
// scope now; a failure to decide grants nothing.
func (u *UI) administers(r *http.Request, s *session) bool {
	if u.cfg.Accounts == nil {
		return false
	}
	access := accounts.AdminAccess()
	granted, err := u.cfg.Authz.Authorize(r.Context(), auth.Request{Identity: s.Identity, Service: u.cfg.Service,
		IP: u.cfg.ClientIP(r), Access: access})
	if err != nil && !errors.Is(err, authz.ErrNoMatch) {
		u.log.WarnContext(r.Context(), "web interface: cannot decide whether an account administers", "account", s.Account(), "err", err)
		return false
	}
	return slices.Contains(granted, access.Actions[0])
}

// admin runs h for a session that administers (signedIn has checked the
// session and a POST's CSRF token); others get 403. Changes made by h are
// the session account's in the audit log.
func (u *UI) admin(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return u.signedIn(func(w http.ResponseWriter, r *http.Request, s *session) {
		if !s.Admin {
			u.log.InfoContext(r.Context(), "web interface: administration refused", "account", s.Account(), "path", r.URL.Path)
			u.fail(w, r, errcode.PageDenied, "Only administrators see this page: accounts the ACL grants "+accounts.AdminAccess().String()+".", nil)
			return
		}
		h(w, u.asActor(r, s), s)
	})
}

// asActor marks r's changes as the session account's, made here.
func (u *UI) asActor(r *http.Request, s *session) *http.Request {
	return r.WithContext(accounts.WithActor(r.Context(), accounts.Actor{Name: s.Account(), Source: "ui", Addr: u.cfg.ClientIP(r).String()}))
}

// refused shows what the account service said of a change it did not
// make: the person's mistake (invalid, missing, existing) or a refusal
// (the last administrator) in the service's own words; anything else is
// the server's, logged and not shown.
func (u *UI) refused(w http.ResponseWriter, r *http.Request, err error) {
	kind, msg := accounts.Refused(err)
	switch kind {
	case accounts.Invalid:
		u.fail(w, r, errcode.PageInvalid, sentence(msg), nil)
	case accounts.Missing:
		u.fail(w, r, errcode.PageNotFound, sentence(strings.Replace(msg, "no such ", "There is no ", 1)), nil)
	case accounts.Conflict:
		u.fail(w, r, errcode.PageConflict, sentence(msg), nil)
	default:
		u.fail(w, r, errcode.PageUnavailable, "The change could not be made now; the server log says why.", err)
	}
}

// sentence makes the service's words a sentence: a capital first letter
// and a full stop, without the package prefix an error may still carry.
func sentence(s string) string {
	s = strings.TrimPrefix(s, "accounts: ")
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// done sends the browser back to page after a change (POST, redirect,
// GET: a reload repeats nothing), which says what was done: change is a
// key of doneMessages.
func done(w http.ResponseWriter, r *http.Request, page, change string) {
	http.Redirect(w, r, Prefix+page+"?"+url.Values{"done": {change}}.Encode(), http.StatusSeeOther)
}

// doneMessages are what a page says after a change, by the ?done= key:
// fixed sentences, so that a link cannot make a page say anything else.
// The page puts the keyboard's focus on the sentence, where a person
// who pressed the button left off, rather than at the top of the page.
var doneMessages = map[string]string{
	"user-added":      "The account was added.",
	"user-disabled":   "The account was disabled, and its sessions ended.",
	"user-enabled":    "The account was enabled.",
	"user-removed":    "The account was removed, with its access tokens and sessions.",
	"password-set":    "The password was set, and the account's sessions ended.",
	"team-added":      "The team was added.",
	"team-removed":    "The team was removed.",
	"member-added":    "The member was added to the team.",
	"member-removed":  "The member was removed from the team.",
	"rule-added":      "The rule was added.",
	"rule-moved":      "The rule was moved.",
	"rule-removed":    "The rule was removed.",
	"token-revoked":   "The token was revoked, and the sessions opened with it ended.",
	"session-revoked": "The session was revoked.",
}

// listData is a page of an administration list.
type listData[V any] struct {
	Session *session
	Items   []V
	Next    string
	// Own is set on the personal page: its buttons act on one's own.
	Own bool
}

// adminList is one of the administration's lists, shown a page at a time
// in key order by view.
type adminList[T, V any] struct {
	// page is the list's page under the prefix ("admin/users"), and its
	// template's name with the slash as "_"; what names it in messages.
	page, what string
	// read returns at most n items whose keys follow after, in key order:
	// the database pages the list (wholePages pages one read whole).
	read func(ctx context.Context, after string, n int) ([]T, error)
	key  func(T) string
	view func(T) V
}

// listPage shows the page of l after the key ?after= names. It reads one
// item more than it shows, to know whether a next page exists.
func listPage[T, V any](u *UI, w http.ResponseWriter, r *http.Request, s *session, l adminList[T, V]) {
	items, err := l.read(r.Context(), r.URL.Query().Get("after"), adminPage+1)
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The "+l.what+" cannot be listed now; try again later.", err)
		return
	}
	next := ""
	if len(items) > adminPage {
		items, next = items[:adminPage], l.key(items[adminPage-1])
	}
	d := listData[V]{Session: s, Next: nextPage(l.page, next), Items: make([]V, 0, len(items))}
	for _, it := range items {
		d.Items = append(d.Items, l.view(it))
	}
	u.render(w, r, http.StatusOK, strings.ReplaceAll(l.page, "/", "_")+".html", d)
}

// wholePages pages a list that read returns whole: sorted by key here, and
// cut after the key after.
func wholePages[T any](read func(context.Context) ([]T, error), key func(T) string) func(context.Context, string, int) ([]T, error) {
	return func(ctx context.Context, after string, n int) ([]T, error) {
		items, err := read(ctx)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
		i, found := slices.BinarySearchFunc(items, after, func(it T, k string) int { return strings.Compare(key(it), k) })
		if found {
			i++
		}
		return items[i:min(len(items), i+n)], nil
	}
}
