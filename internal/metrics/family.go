package metrics

import (
	"net/http"
	"strings"
)

// Route families: what a request's path says about the operation, in a
// fixed list, so that the number of series does not grow with the number of
// repositories, tags or digests a client can name.
const (
	FamilyBase      = "base"
	FamilyManifest  = "manifest"
	FamilyBlob      = "blob"
	FamilyUpload    = "upload"
	FamilyTags      = "tags"
	FamilyCatalog   = "catalog"
	FamilyReferrers = "referrers"
	FamilyToken     = "token"
	FamilyAdmin     = "admin"
	FamilyOther     = "other"
)

// Families lists every route family, for tests and dashboards.
var Families = []string{FamilyBase, FamilyManifest, FamilyBlob, FamilyUpload, FamilyTags,
	FamilyCatalog, FamilyReferrers, FamilyToken, FamilyAdmin, FamilyOther}

// Family names the route family of a request path. It reads the path's
// last segments only, as the OCI API's parser does: a repository name may
// contain "manifests" or "blobs" as a component, the reference after them
// may not contain a slash.
func Family(path string) string {
	switch {
	case path == "/v2" || path == "/v2/":
		return FamilyBase
	case strings.HasPrefix(path, "/v2/"):
		return v2Family(path[len("/v2/"):])
	case path == "/auth" || strings.HasPrefix(path, "/auth/"):
		return FamilyToken
	case strings.HasPrefix(path, "/api/v1/"):
		return FamilyAdmin
	}
	return FamilyOther
}

func v2Family(rest string) string {
	if rest == "_catalog" {
		return FamilyCatalog
	}
	if strings.HasSuffix(rest, "/tags/list") {
		return FamilyTags
	}
	// The last three segments: …/<op>/<ref>, or …/blobs/uploads/<id>.
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return FamilyOther
	}
	head, last := rest[:i], rest[i+1:]
	j := strings.LastIndexByte(head, '/')
	if j < 0 {
		return FamilyOther
	}
	op := head[j+1:]
	switch op {
	case "manifests":
		return FamilyManifest
	case "referrers":
		return FamilyReferrers
	case "blobs":
		if last == "uploads" {
			return FamilyUpload
		}
		return FamilyBlob
	case "uploads":
		if strings.HasSuffix(head[:j], "/blobs") {
			return FamilyUpload
		}
	}
	return FamilyOther
}

// Method bounds a request method to the ones a registry serves.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusClasses are the label values of a status: its class.
var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// StatusClass is status's class ("2xx"); anything outside 100–599 is
// "other". A request whose handler wrote nothing was answered 200.
func StatusClass(status int) string {
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 {
		return "other"
	}
	return statusClasses[status/100-1]
}
