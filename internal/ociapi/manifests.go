package ociapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"wharf/internal/events"
	"wharf/internal/registry"

	"wharf/internal/errcode"
)

func (h *Handler) getManifest(w http.ResponseWriter, r *http.Request, rt route) {
	if err := h.proxyManifest(w, r, rt); err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.reg.ServeManifest(r.Context(), rt.Name, rt.Ref, r.Method != http.MethodHead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !strings.Contains(rt.Ref, ":") && registry.IsIndex(m.MediaType) && !accepts(r, m.MediaType) {
		// A client that cannot read lists asked for a tag that is one: as
		// distribution does, say there is no manifest it can use.
		h.fail(w, r, errorf(errcode.ManifestUnknown, "the tag names a "+m.MediaType+", which the request's Accept header does not include"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", m.MediaType)
	hd.Set("Content-Length", strconv.FormatInt(m.Size, 10))
	hd.Set("Docker-Content-Digest", m.Digest.String())
	hd.Set("ETag", `"`+m.Digest.String()+`"`)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, m.Digest.String()) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(m.Payload)
		if h.recording() {
			h.record(r, rt, events.Event{Action: events.Pull, Digest: m.Digest, MediaType: m.MediaType,
				Size: m.Size, Tag: tagOf(rt.Ref), Payload: m.Payload})
		}
	}
}

// tagOf is ref when it names a tag, "" when it is a digest.
func tagOf(ref string) string {
	if strings.Contains(ref, ":") {
		return ""
	}
	return ref
}

// accepts reports whether the Accept headers allow mediaType. No Accept
// header, or a wildcard, allows everything.
func accepts(r *http.Request, mediaType string) bool {
	values := r.Header.Values("Accept")
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
			if mt == mediaType || mt == "*/*" || mt == "" {
				return true
			}
		}
	}
	return false
}

func etagMatch(header, dgst string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == "*" || strings.Trim(t, `"`) == dgst {
			return true
		}
	}
	return false
}

func (h *Handler) putManifest(w http.ResponseWriter, r *http.Request, rt route) {
	if r.ContentLength > registry.MaxManifestSize {
		h.fail(w, r, errorf(errcode.ManifestTooLarge, "manifest exceeds the 4 MiB limit"))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, registry.MaxManifestSize+1))
	if errors.Is(err, registry.ErrUploadStalled) {
		h.fail(w, r, errorf(errcode.ManifestStalled, "the manifest body stopped arriving; send it again"))
		return
	}
	if err != nil {
		h.fail(w, r, errorf(errcode.ManifestInvalid, "could not read the manifest body"))
		return
	}
	if len(payload) > registry.MaxManifestSize {
		h.fail(w, r, errorf(errcode.ManifestTooLarge, "manifest exceeds the 4 MiB limit"))
		return
	}
	res, err := h.reg.PutManifest(r.Context(), rt.Name, rt.Ref, r.Header.Get("Content-Type"), payload, r.URL.Query()["tag"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Location", "/v2/"+rt.Name+"/manifests/"+res.Digest.String())
	hd.Set("Docker-Content-Digest", res.Digest.String())
	if res.Subject != "" {
		hd.Set("OCI-Subject", res.Subject.String())
	}
	for _, t := range res.Tags {
		hd.Add("OCI-Tag", t)
	}
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	if h.recording() {
		e := events.Event{Action: events.Push, Digest: res.Digest, MediaType: res.MediaType, Size: int64(len(payload)), Payload: payload}
		if len(res.Tags) == 0 {
			h.record(r, rt, e)
		}
		for _, t := range res.Tags {
			e.Tag = t
			h.record(r, rt, e)
		}
	}
}

func (h *Handler) deleteManifest(w http.ResponseWriter, r *http.Request, rt route) {
	if err := h.reg.DeleteManifest(r.Context(), rt.Name, rt.Ref); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	if h.recording() {
		e := events.Event{Action: events.Delete, Tag: tagOf(rt.Ref)}
		if e.Tag == "" {
			e.Digest = digest.Digest(rt.Ref)
		}
		h.record(r, rt, e)
	}
}
