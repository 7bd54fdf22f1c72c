package ui

import (
	"net/http"
	"net/url"
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/errcode"
	"wharf/internal/metadata"
)

// usersPage lists the database's users and robots by name, a page at a
// time, with a form to add one and, on each, disable/enable and a new
// password.
func (u *UI) usersPage(w http.ResponseWriter, r *http.Request, s *session) {
	listPage(u, w, r, s, adminList[metadata.User, accounts.UserView]{page: "admin/users", what: "users",
		read: u.cfg.Accounts.Store().ListUsersAfter, key: func(x metadata.User) string { return x.Name }, view: u.cfg.Accounts.View})
}

// nextPage is the link to page's next page after key ("" for none).
func nextPage(page, key string) string {
	if key == "" {
		return ""
	}
	return Prefix + page + "?" + url.Values{"after": {key}}.Encode()
}

// addUser adds a user with a password, or a robot (which logs in with
// access tokens only), with the admin API's checks.
func (u *UI) addUser(w http.ResponseWriter, r *http.Request, s *session) {
	name, pw, robot := strings.TrimSpace(r.PostForm.Get("name")), auth.Secret(r.PostForm.Get("password")), r.PostForm.Get("robot") == "on"
	if err := accounts.CheckName("user", name); err != nil {
		u.refused(w, r, err)
		return
	}
	switch {
	case robot && pw != "":
		u.fail(w, r, errcode.PageInvalid, "A robot account has no password: leave the password empty, and create an access token for it.", nil)
		return
	case !robot && pw == "":
		u.fail(w, r, errcode.PageInvalid, "A user needs a password (or tick “robot” for an account that logs in with access tokens).", nil)
		return
	case !robot:
		if err := accounts.CheckPassword(pw); err != nil {
			u.refused(w, r, err)
			return
		}
	}
	if err := u.cfg.Accounts.AddUser(r.Context(), accounts.NewUser{Name: name, Password: pw, Robot: robot}); err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: user created", "by", s.Account(), "user", name, "robot", robot)
	done(w, r, "admin/users", "user-added")
}

// setDisabled disables or enables an account; disabling the last one
// that administers is refused, in the service's words.
func (u *UI) setDisabled(disabled bool) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		name := r.PathValue("name")
		if err := u.cfg.Accounts.SetDisabled(r.Context(), name, disabled); err != nil {
			u.refused(w, r, err)
			return
		}
		u.log.InfoContext(r.Context(), "web interface: user disabled or enabled", "by", s.Account(), "user", name, "disabled", disabled)
		change := "user-enabled"
		if disabled {
			change = "user-disabled"
		}
		done(w, r, "admin/users", change)
	}
}

// resetPassword sets a new password (which ends the account's sessions).
func (u *UI) resetPassword(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	if err := u.cfg.Accounts.SetPassword(r.Context(), name, auth.Secret(r.PostForm.Get("password"))); err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: user password changed", "by", s.Account(), "user", name)
	done(w, r, "admin/users", "password-set")
}

type removeUserData struct {
	Session *session
	User    accounts.UserView
}

// confirmRemoveUser asks whether to remove a user: the page's button
// posts the removal.
func (u *UI) confirmRemoveUser(w http.ResponseWriter, r *http.Request, s *session) {
	user, err := u.cfg.Accounts.Store().GetUser(r.Context(), r.PathValue("name"))
	if err != nil {
		u.refused(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "admin_user_remove.html", removeUserData{Session: s, User: u.cfg.Accounts.View(*user)})
}

// removeUser removes a user with its tokens and sessions; removing the
// last account that administers is refused, in the service's words, as
// is removing the built-in administrator.
func (u *UI) removeUser(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	if err := u.cfg.Accounts.RemoveUser(r.Context(), name); err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: user removed", "by", s.Account(), "user", name)
	done(w, r, "admin/users", "user-removed")
}

// teamsPage lists the teams and their members by name, a page at a time,
// with forms to add and remove both.
func (u *UI) teamsPage(w http.ResponseWriter, r *http.Request, s *session) {
	key := func(t metadata.Team) string { return t.Name }
	listPage(u, w, r, s, adminList[metadata.Team, accounts.TeamView]{page: "admin/teams", what: "teams",
		read: wholePages(u.cfg.Accounts.Store().ListTeams, key), key: key, view: accounts.ViewTeam})
}

// teamChange runs one change of teams and goes back to their page.
// what is the log's words, change the key of doneMessages.
func (u *UI) teamChange(w http.ResponseWriter, r *http.Request, s *session, what, change string, do func() error) {
	if err := do(); err != nil {
		u.refused(w, r, err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: "+what, "by", s.Account(), "team", r.PathValue("name"))
	done(w, r, "admin/teams", change)
}

func (u *UI) addTeam(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	u.teamChange(w, r, s, "team created", "team-added", func() error {
		if err := accounts.CheckName("team", name); err != nil {
			return err
		}
		return u.cfg.Accounts.AddTeam(r.Context(), name)
	})
}

func (u *UI) removeTeam(w http.ResponseWriter, r *http.Request, s *session) {
	u.teamChange(w, r, s, "team removed", "team-removed", func() error { return u.cfg.Accounts.RemoveTeam(r.Context(), r.PathValue("name")) })
}

func (u *UI) addMember(w http.ResponseWriter, r *http.Request, s *session) {
	u.teamChange(w, r, s, "team member added", "member-added", func() error {
		return u.cfg.Accounts.AddMember(r.Context(), r.PathValue("name"), strings.TrimSpace(r.PostForm.Get("user")))
	})
}

func (u *UI) removeMember(w http.ResponseWriter, r *http.Request, s *session) {
	u.teamChange(w, r, s, "team member removed", "member-removed", func() error {
		return u.cfg.Accounts.RemoveMember(r.Context(), r.PathValue("name"), r.PathValue("user"))
	})
}
