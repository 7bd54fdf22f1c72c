package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/auth"
	"wharf/internal/metadata"
	"wharf/internal/metadata/metadatatest"
)

// pushRepo stores an image in repo: a shared 1000-byte base, a 500-byte
// layer of its own and a 100-byte manifest, tagged with tags.
func pushRepo(t *testing.T, s *metadata.Store, repo string, tags ...string) digest.Digest {
	t.Helper()
	m := metadatatest.Image(t, s, repo, repo, map[string]int64{"base": 1000, "own " + repo: 500})
	if err := s.PutManifest(t.Context(), m, tags); err != nil {
		t.Fatal(err)
	}
	return m.Digest
}

func TestRepositories(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.bearer("admin", adminScope)
	app := pushRepo(t, e.store, "team/app", "v1", "latest")
	pushRepo(t, e.store, "team/db", "v1")
	pushRepo(t, e.store, "solo", "v1")

	// Listing: sizes, paging with Link, a prefix filter.
	var page struct {
		Repositories []metadata.RepositoryStats `json:"repositories"`
		Next         string                     `json:"next"`
	}
	res := e.must(http.StatusOK, admin, "GET", "/api/v1/repositories?n=2", nil, &page)
	if len(page.Repositories) != 2 || page.Repositories[0].Name != "solo" || page.Repositories[1].Bytes != 1600 ||
		page.Next == "" || res.header.Get("Link") != "<"+page.Next+`>; rel="next"` {
		t.Errorf("first page: %s, Link %q", res, res.header.Get("Link"))
	}
	next := page.Next
	page.Next = ""
	e.must(http.StatusOK, admin, "GET", next, nil, &page)
	if len(page.Repositories) != 1 || page.Repositories[0].Name != "team/db" || page.Next != "" {
		t.Errorf("second page: %+v", page)
	}
	e.must(http.StatusOK, admin, "GET", "/api/v1/repositories?prefix=team/", nil, &page)
	if len(page.Repositories) != 2 || page.Repositories[0].Name != "team/app" || page.Repositories[0].Tags != 2 {
		t.Errorf("prefix team/: %+v", page)
	}

	// One repository, its name's slash written %2F.
	var detail struct {
		Name      string             `json:"name"`
		Manifests int64              `json:"manifests"`
		Bytes     int64              `json:"bytes"`
		Tags      []metadata.TagInfo `json:"tags"`
	}
	e.must(http.StatusOK, admin, "GET", "/api/v1/repositories/team%2Fapp", nil, &detail)
	if detail.Name != "team/app" || detail.Manifests != 1 || detail.Bytes != 1600 || len(detail.Tags) != 2 ||
		detail.Tags[0].Name != "latest" || detail.Tags[0].Digest != app {
		t.Errorf("GET team/app: %+v", detail)
	}
	// Bare slashes get a hint, not a silent 404.
	if code, msg, _ := e.do(admin, "GET", "/api/v1/repositories/team/app", nil).errorOf(t); code != "not_found" || !strings.Contains(msg, "%2F") {
		t.Errorf("bare slashes: %s %q", code, msg)
	}
	if code, msg, _ := e.do(admin, "GET", "/api/v1/repositories/nope", nil).errorOf(t); code != "not_found" || msg != `no such repository "nope"` {
		t.Errorf("unknown repository: %s %q", code, msg)
	}

	// Deletes need the admin scope like the rest of the API.
	pullOnly := e.bearer("admin", auth.Access{Type: "repository", Name: "team/app", Actions: []string{"*"}})
	if res := e.do(pullOnly, "DELETE", "/api/v1/repositories/team%2Fapp", nil); res.status != http.StatusForbidden {
		t.Errorf("delete without the admin scope: %d %s", res.status, res)
	}
	if res := e.do("", "DELETE", "/api/v1/repositories/team%2Fapp/tags/v1", nil); res.status != http.StatusUnauthorized {
		t.Errorf("anonymous tag delete: %d %s", res.status, res)
	}

	e.must(http.StatusNoContent, admin, "DELETE", "/api/v1/repositories/team%2Fapp/tags/v1", nil, nil)
	if code, msg, _ := e.do(admin, "DELETE", "/api/v1/repositories/team%2Fapp/tags/v1", nil).errorOf(t); code != "not_found" || !strings.Contains(msg, `"team/app:v1"`) {
		t.Errorf("tag deleted twice: %s %q", code, msg)
	}
	var deleted metadata.DeletedRepository
	e.must(http.StatusOK, admin, "DELETE", "/api/v1/repositories/team%2Fapp", nil, &deleted)
	if deleted != (metadata.DeletedRepository{Tags: 1, Manifests: 1, BlobLinks: 2}) {
		t.Errorf("DELETE team/app = %+v", deleted)
	}
	if got := e.changed.String(); got != "team/app\n" {
		t.Errorf("RepositoryChanged told of %q, want team/app", got)
	}
	if !strings.Contains(e.log.String(), "repository deleted") {
		t.Errorf("no audit line for the delete:\n%s", e.log)
	}
	e.must(http.StatusNotFound, admin, "GET", "/api/v1/repositories/team%2Fapp", nil, nil)
	e.must(http.StatusNotFound, admin, "DELETE", "/api/v1/repositories/team%2Fapp", nil, nil)
	e.must(http.StatusOK, admin, "GET", "/api/v1/repositories", nil, &page)
	if len(page.Repositories) != 2 {
		t.Errorf("after delete: %+v", page)
	}
}
