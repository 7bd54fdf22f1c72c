package adminapi

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/errcode"
	"wharf/internal/metadata"
)

// Team is a team as the API shows it.
type Team = accounts.TeamView

func toTeam(t metadata.Team) Team { return accounts.ViewTeam(t) }

type teamList struct {
	Teams []Team `json:"teams"`
	Next  string `json:"next,omitempty"`
}

func (a *API) teams(r *http.Request) ([]metadata.Team, error) {
	teams, err := a.svc.Store().ListTeams(r.Context())
	slices.SortFunc(teams, func(x, y metadata.Team) int { return strings.Compare(x.Name, y.Name) })
	return teams, err
}

func (a *API) listTeams(w http.ResponseWriter, r *http.Request, _ caller) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	teams, err := a.teams(r)
	if err != nil {
		return err
	}
	shown, last := slice(teams, p, func(t metadata.Team) bool { return t.Name > p.last }, func(t metadata.Team) string { return t.Name })
	out := teamList{Teams: make([]Team, 0, len(shown))}
	for _, t := range shown {
		out.Teams = append(out.Teams, toTeam(t))
	}
	out.Next = nextLink(w, r, p, last)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) team(r *http.Request, name string) (Team, error) {
	teams, err := a.teams(r)
	if err != nil {
		return Team{}, err
	}
	i := slices.IndexFunc(teams, func(t metadata.Team) bool { return t.Name == name })
	if i < 0 {
		return Team{}, &errcode.Error{Code: errcode.AdminNotFound, Message: "no such team " + quote(name)}
	}
	return toTeam(teams[i]), nil
}

func (a *API) getTeam(w http.ResponseWriter, r *http.Request, _ caller) error {
	t, err := a.team(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

type newTeamRequest struct {
	Name string `json:"name"`
}

func (a *API) addTeam(w http.ResponseWriter, r *http.Request, c caller) error {
	var req newTeamRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := a.svc.AddTeam(r.Context(), req.Name); err != nil {
		return about("name", err)
	}
	a.audit(r, c, "team created", "team", req.Name)
	t, err := a.team(r, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"teams/"+req.Name)
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *API) removeTeam(w http.ResponseWriter, r *http.Request, c caller) error {
	name := r.PathValue("name")
	if err := a.svc.RemoveTeam(r.Context(), name); err != nil {
		return err
	}
	a.audit(r, c, "team deleted", "team", name)
	noContent(w)
	return nil
}

// addMember puts a user in a team. PUT is idempotent: a user already in
// the team is no error.
func (a *API) addMember(w http.ResponseWriter, r *http.Request, c caller) error {
	team, user := r.PathValue("name"), r.PathValue("user")
	err := a.svc.AddMember(r.Context(), team, user)
	switch {
	case errors.Is(err, metadata.ErrExists):
	case err != nil:
		return err
	default:
		a.audit(r, c, "team member added", "team", team, "user", user)
	}
	noContent(w)
	return nil
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, c caller) error {
	team, user := r.PathValue("name"), r.PathValue("user")
	if err := a.svc.RemoveMember(r.Context(), team, user); err != nil {
		return err
	}
	a.audit(r, c, "team member removed", "team", team, "user", user)
	noContent(w)
	return nil
}
