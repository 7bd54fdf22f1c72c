package adminapi

import (
	"net/http"
	"slices"
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/auth"
	"wharf/internal/metadata"
)

// User is a user as the API shows it (never the password hash).
type User = accounts.UserView

func (a *API) toUser(u metadata.User) User { return a.svc.View(u) }

type userList struct {
	Users []User `json:"users"`
	Next  string `json:"next,omitempty"`
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, _ caller) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	users, err := a.svc.Store().ListUsers(r.Context())
	if err != nil {
		return err
	}
	slices.SortFunc(users, func(x, y metadata.User) int { return strings.Compare(x.Name, y.Name) })
	shown, last := slice(users, p, func(u metadata.User) bool { return u.Name > p.last }, func(u metadata.User) string { return u.Name })
	out := userList{Users: make([]User, 0, len(shown))}
	for _, u := range shown {
		out.Users = append(out.Users, a.toUser(u))
	}
	out.Next = nextLink(w, r, p, last)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, _ caller) error {
	u, err := a.svc.Store().GetUser(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.toUser(*u))
	return nil
}

// newUserRequest is the body of POST /users. The password is a Secret:
// it prints as *** wherever it might be formatted.
type newUserRequest struct {
	Name     string      `json:"name"`
	Password auth.Secret `json:"password"`
	Robot    bool        `json:"robot"`
	Labels   auth.Labels `json:"labels"`
}

func (a *API) addUser(w http.ResponseWriter, r *http.Request, c caller) error {
	var req newUserRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := accounts.CheckName("user", req.Name); err != nil {
		return about("name", err)
	}
	if err := accounts.CheckLabels(req.Labels); err != nil {
		return about("labels", err)
	}
	switch {
	case req.Robot && req.Password != "":
		return invalid("password", "a robot account has no password; it logs in with access tokens (POST %stokens)", Prefix)
	case !req.Robot && req.Password == "":
		return invalid("password", "password is required for a user (or set robot: true for a robot account, which logs in with tokens)")
	case !req.Robot:
		if err := accounts.CheckPassword(req.Password); err != nil {
			return about("password", err)
		}
	}
	err := a.svc.AddUser(r.Context(), accounts.NewUser{Name: req.Name, Password: req.Password, Robot: req.Robot, Labels: req.Labels})
	if err != nil {
		return about("name", err)
	}
	a.audit(r, c, "user created", "user", req.Name, "robot", req.Robot)
	u, err := a.svc.Store().GetUser(r.Context(), req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"users/"+req.Name)
	writeJSON(w, http.StatusCreated, a.toUser(*u))
	return nil
}

// patchUserRequest changes what it names: disabled (disable or enable the
// account) and labels (replaced as a whole).
type patchUserRequest struct {
	Disabled *bool                `json:"disabled"`
	Labels   *map[string][]string `json:"labels"`
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request, c caller) error {
	name := r.PathValue("name")
	var req patchUserRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Disabled == nil && req.Labels == nil {
		return invalid("", "name what to change: disabled (true or false) and/or labels")
	}
	ctx := r.Context()
	if _, err := a.svc.Store().GetUser(ctx, name); err != nil {
		return err
	}
	if req.Labels != nil {
		// Checked before anything changes, so that a bad label leaves the
		// account as it was.
		if err := accounts.CheckLabels(*req.Labels); err != nil {
			return about("labels", err)
		}
		if err := a.svc.SetLabels(ctx, name, *req.Labels); err != nil {
			return about("labels", err)
		}
		a.audit(r, c, "user labels set", "user", name)
	}
	if req.Disabled != nil {
		if err := a.svc.SetDisabled(ctx, name, *req.Disabled); err != nil {
			return err
		}
		verb := "user enabled"
		if *req.Disabled {
			verb = "user disabled"
		}
		a.audit(r, c, verb, "user", name)
	}
	u, err := a.svc.Store().GetUser(ctx, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.toUser(*u))
	return nil
}

func (a *API) removeUser(w http.ResponseWriter, r *http.Request, c caller) error {
	name := r.PathValue("name")
	if err := a.svc.RemoveUser(r.Context(), name); err != nil {
		return err
	}
	a.audit(r, c, "user deleted", "user", name)
	noContent(w)
	return nil
}

type passwordRequest struct {
	Password auth.Secret `json:"password"`
}

// setPassword replaces a user's password. It comes in the body only, never
// in the URL, where logs and proxies would keep it.
func (a *API) setPassword(w http.ResponseWriter, r *http.Request, c caller) error {
	name := r.PathValue("name")
	var req passwordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Password == "" {
		return invalid("password", "password is required")
	}
	if err := a.svc.SetPassword(r.Context(), name, req.Password); err != nil {
		return about("password", err)
	}
	a.audit(r, c, "user password changed", "user", name)
	noContent(w)
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
