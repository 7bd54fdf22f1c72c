package ociapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/registry"

	"wharf/internal/errcode"
)

// Default page bounds of the three lists. A request without n gets a full
// page, a larger n is lowered to the bound, and the Link header leads to
// the rest: what the distribution spec allows, and what clients follow.
const (
	// DefaultMaxListPage bounds a page of tags/list and _catalog: the
	// page size go-containerregistry asks for, a few tens of KiB of JSON.
	DefaultMaxListPage = 1000
	// DefaultMaxReferrersPage bounds a page of referrers. A descriptor
	// weighs more than a tag (annotations), and each page is also cut at
	// registry.ReferrersPageBytes. The bound stays far above the handful
	// of signatures and SBOMs an image has, because some clients
	// (go-containerregistry's remote.Referrers, hence crane and cosign)
	// read only the first page.
	DefaultMaxReferrersPage = 500
)

// pagination reads n and last. n is the page size: bound when the client
// gave none (or an empty n=), at most bound otherwise (a larger n, even one
// that overflows, asks for "as many as you send"); 0 is the spec's empty
// page.
func pagination(r *http.Request, bound int) (n int, last string, err error) {
	q := r.URL.Query()
	last = q.Get("last")
	s := q.Get("n")
	if s == "" {
		return bound, last, nil
	}
	if !allDigits(s) {
		return 0, "", errorf(errcode.PaginationInvalid, fmt.Sprintf(
			"n must be a whole number, 0 or more (for example n=100); a page holds at most %d entries and the Link header leads to the next", bound))
	}
	v, err := strconv.ParseUint(s, 10, 63)
	if err != nil || v > uint64(bound) { // digits only: err is a range error
		return bound, last, nil
	}
	return int(v), last, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// page fetches one more entry than asked so it knows whether to send Link.
func page(list []string, n int) ([]string, bool) {
	if len(list) > n {
		return list[:n], true
	}
	return list, false
}

// setNextLink points the client at the page after last, as an RFC 8288
// Link relative to this server (clients resolve it against the URL they
// asked, so it holds behind a reverse proxy). extra is appended to the query,
// already encoded.
func setNextLink(w http.ResponseWriter, path string, n int, last, extra string) {
	w.Header().Set("Link", "<"+path+"?n="+strconv.Itoa(n)+"&last="+url.QueryEscape(last)+extra+`>; rel="next"`)
}

func (h *Handler) tags(w http.ResponseWriter, r *http.Request, rt route) {
	n, last, err := pagination(r, h.opts.MaxListPage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var tags []string
	if n == 0 {
		// Still tell an unknown repository apart from an empty page.
		_, err = h.reg.Tags(r.Context(), rt.Name, "", 1)
		tags = []string{}
	} else {
		tags, err = h.reg.Tags(r.Context(), rt.Name, last, n+1)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tags, more := page(tags, n)
	if more {
		setNextLink(w, "/v2/"+rt.Name+"/tags/list", n, tags[len(tags)-1], "")
	}
	h.writeJSON(w, r, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{rt.Name, tags})
}

func (h *Handler) catalog(w http.ResponseWriter, r *http.Request, _ route) {
	n, last, err := pagination(r, h.opts.MaxListPage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	repos := []string{}
	if n > 0 {
		repos, err = h.reg.Catalog(r.Context(), last, n+1)
		if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	repos, more := page(repos, n)
	if more {
		setNextLink(w, "/v2/_catalog", n, repos[len(repos)-1], "")
	}
	h.writeJSON(w, r, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{repos})
}

// referrers pages by the last digest listed, a cursor that referrers pushed
// or deleted meanwhile do not shift. The spec leaves the Link's query to the
// server; n and last are the same as the other lists', and the filter is
// carried along.
func (h *Handler) referrers(w http.ResponseWriter, r *http.Request, rt route) {
	dgst, err := registry.ParseDigest(rt.Ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n, lastParam, err := pagination(r, h.opts.MaxReferrersPage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var last digest.Digest
	if lastParam != "" {
		if last, err = registry.ParseDigest(lastParam); err != nil {
			h.fail(w, r, fmt.Errorf("%w (last must be the digest that ended the previous page)", err))
			return
		}
	}
	artifactType := r.URL.Query().Get("artifactType")
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	idx := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}
	idx.SchemaVersion = 2
	if n > 0 {
		refs, more, err := h.reg.Referrers(r.Context(), rt.Name, dgst, artifactType, last, n)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, d := range refs {
			idx.Manifests = append(idx.Manifests, v1.Descriptor{
				MediaType: d.MediaType, Digest: d.Digest, Size: d.Size,
				ArtifactType: d.ArtifactType, Annotations: d.Annotations,
			})
		}
		if more {
			extra := ""
			if artifactType != "" {
				extra = "&artifactType=" + url.QueryEscape(artifactType)
			}
			setNextLink(w, "/v2/"+rt.Name+"/referrers/"+dgst.String(), n, refs[len(refs)-1].Digest.String(), extra)
		}
	}
	h.writeJSON(w, r, v1.MediaTypeImageIndex, idx)
}

// writeJSON answers 200 with v. An encoding failure is ours: it goes
// through writeError like every other, logged, as UNKNOWN.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.Header().Del("Link")
		h.fail(w, r, fmt.Errorf("ociapi: encoding the response: %w", err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
