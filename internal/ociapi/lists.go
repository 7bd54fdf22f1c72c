package ociapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/registry"
)

// defaultCatalogPage bounds a catalog response when the client gives no n;
// the Link header leads to the rest.
const defaultCatalogPage = 1000

// maxPage bounds any page so that one request cannot ask for everything.
const maxPage = 10000

// pagination reads n and last. n < 0 means the client gave none.
func pagination(r *http.Request) (n int, last string, err error) {
	q := r.URL.Query()
	last = q.Get("last")
	n = -1
	if s := q.Get("n"); s != "" {
		n, err = strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, "", errorf(codePaginationInvalid, "n must be a non-negative integer")
		}
		n = min(n, maxPage)
	}
	return n, last, nil
}

// page fetches one more entry than asked so it knows whether to send Link.
func page(list []string, n int) ([]string, bool) {
	if n >= 0 && len(list) > n {
		return list[:n], true
	}
	return list, false
}

func setNextLink(w http.ResponseWriter, path string, n int, last string) {
	q := url.Values{"n": {strconv.Itoa(n)}, "last": {last}}
	w.Header().Set("Link", "<"+path+"?"+q.Encode()+`>; rel="next"`)
}

func (h *Handler) tags(w http.ResponseWriter, r *http.Request, rt route) {
	n, last, err := pagination(r)
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
		limit := -1
		if n > 0 {
			limit = n + 1
		}
		tags, err = h.reg.Tags(r.Context(), rt.Name, last, limit)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tags, more := page(tags, n)
	if more {
		setNextLink(w, "/v2/"+rt.Name+"/tags/list", n, tags[len(tags)-1])
	}
	writeJSON(w, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{rt.Name, tags})
}

func (h *Handler) catalog(w http.ResponseWriter, r *http.Request, _ route) {
	n, last, err := pagination(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if n < 0 {
		n = defaultCatalogPage
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
		setNextLink(w, "/v2/_catalog", n, repos[len(repos)-1])
	}
	writeJSON(w, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{repos})
}

func (h *Handler) referrers(w http.ResponseWriter, r *http.Request, rt route) {
	dgst, err := registry.ParseDigest(rt.Ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	artifactType := r.URL.Query().Get("artifactType")
	refs, err := h.reg.Referrers(r.Context(), rt.Name, dgst, artifactType)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	idx := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: make([]v1.Descriptor, 0, len(refs))}
	idx.SchemaVersion = 2
	for _, d := range refs {
		idx.Manifests = append(idx.Manifests, v1.Descriptor{
			MediaType: d.MediaType, Digest: d.Digest, Size: d.Size,
			ArtifactType: d.ArtifactType, Annotations: d.Annotations,
		})
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	writeJSON(w, v1.MediaTypeImageIndex, idx)
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
