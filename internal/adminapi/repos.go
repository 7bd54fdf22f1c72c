package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"wharf/internal/errcode"
	"wharf/internal/metadata"
)

// Repository names hold slashes; in a path they are one segment, with each
// "/" written %2F: /api/v1/repositories/team%2Fapp/tags/v1.

// Repository is a repository as lists show it: counts, deduplicated bytes
// and last push.
type Repository = metadata.RepositoryStats

type repositoryList struct {
	Repositories []Repository `json:"repositories"`
	Next         string       `json:"next,omitempty"`
}

// RepositoryDetail is one repository with its tags.
type RepositoryDetail struct {
	Name      string             `json:"name"`
	Manifests int64              `json:"manifests"`
	Bytes     int64              `json:"bytes"`
	LastPush  time.Time          `json:"last_push"`
	Tags      []metadata.TagInfo `json:"tags"`
}

// DeletedRepository counts what a repository delete removed.
type DeletedRepository = metadata.DeletedRepository

func (a *API) listRepositories(w http.ResponseWriter, r *http.Request, _ caller) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	prefix := r.URL.Query().Get("prefix")
	// One more than the page, to tell whether another follows.
	list, err := a.svc.Store().RepositoryStats(r.Context(), prefix, p.last, p.n+1)
	if err != nil {
		return err
	}
	shown, last := list, ""
	if len(list) > p.n {
		shown, last = list[:p.n], list[p.n-1].Name
	}
	out := repositoryList{Repositories: shown}
	out.Next = nextLink(w, r, p, last)
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getRepository(w http.ResponseWriter, r *http.Request, _ caller) error {
	name := r.PathValue("name")
	tags, err := a.svc.Store().RepositoryTags(r.Context(), name)
	if err != nil {
		return noSuchRepository(name, err)
	}
	out := RepositoryDetail{Name: name, Tags: tags}
	// The name is its own first match: every other name it prefixes sorts
	// after it.
	stats, err := a.svc.Store().RepositoryStats(r.Context(), name, "", 1)
	if err != nil {
		return err
	}
	if len(stats) == 1 && stats[0].Name == name {
		out.Manifests, out.Bytes, out.LastPush = stats[0].Manifests, stats[0].Bytes, stats[0].LastPush
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) removeRepository(w http.ResponseWriter, r *http.Request, c caller) error {
	name := r.PathValue("name")
	d, err := a.svc.Store().DeleteRepository(r.Context(), name)
	if err != nil {
		return noSuchRepository(name, err)
	}
	if a.cfg.RepositoryChanged != nil {
		a.cfg.RepositoryChanged(name)
	}
	a.audit(r, c, "repository deleted", "repository", name, "tags", d.Tags, "manifests", d.Manifests)
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) removeTag(w http.ResponseWriter, r *http.Request, c caller) error {
	name, tag := r.PathValue("name"), r.PathValue("tag")
	if err := a.svc.Store().DeleteTag(r.Context(), name, tag); err != nil {
		if errors.Is(err, metadata.ErrNotFound) {
			return &errcode.Error{Code: errcode.AdminNotFound, Message: "no such tag " + quote(name+":"+tag)}
		}
		return err
	}
	a.audit(r, c, "tag deleted", "repository", name, "tag", tag)
	noContent(w)
	return nil
}

func noSuchRepository(name string, err error) error {
	if errors.Is(err, metadata.ErrNotFound) {
		return &errcode.Error{Code: errcode.AdminNotFound, Message: "no such repository " + quote(name)}
	}
	return err
}

// slashedRepository tells a request for a repository whose name was sent
// with bare slashes, which no route matches, what to send instead.
func slashedRepository(r *http.Request) error {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix+"repositories/")
	if !ok || !strings.Contains(rest, "/") {
		return nil
	}
	return &errcode.Error{Code: errcode.AdminNotFound,
		Message: "no such endpoint: write the slashes of a repository name as %2F (repositories/team%2Fapp)"}
}
