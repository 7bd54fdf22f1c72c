package ociapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/errcode"
	"wharf/internal/events"
	"wharf/internal/proxy"
	"wharf/internal/registry"
)

// refuseProxyWrite refuses a write into a pull-through repository, whatever
// the ACL grants: its content is the upstream's.
func (h *Handler) refuseProxyWrite(r *http.Request, rt route) error {
	if h.opts.Proxy == nil || rt.Name == "" {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return nil
	}
	host, ok, err := h.opts.Proxy.Owner(r.Context(), rt.Name)
	if err != nil || !ok {
		return err
	}
	return errcode.Errorf(errcode.Denied, "%s is a pull-through cache of %s: its content comes from there; push to a repository the proxy does not serve", rt.Name, host)
}

// proxyManifest brings a proxy repository's manifest up to date before it
// is served, and says so when it is served stale.
func (h *Handler) proxyManifest(w http.ResponseWriter, r *http.Request, rt route) error {
	if h.opts.Proxy == nil {
		return nil
	}
	res, err := h.opts.Proxy.Manifest(r.Context(), rt.Name, rt.Ref)
	if err != nil {
		return err
	}
	if res.Warning != "" {
		w.Header().Set("Warning", res.Warning)
	}
	return nil
}

// proxyBlob answers a pull of a blob a proxy repository does not hold yet,
// streaming it as it arrives from the upstream. It returns false when the
// caller is to serve the blob from the registry (not a proxy repository,
// the blob cached already, or linked from what the registry holds).
func (h *Handler) proxyBlob(w http.ResponseWriter, r *http.Request, rt route, dgst digest.Digest) bool {
	if h.opts.Proxy == nil || !h.opts.Proxy.Serves(rt.Name) {
		return false
	}
	if _, err := h.reg.StatBlob(r.Context(), rt.Name, dgst); !errors.Is(err, registry.ErrBlobUnknown) {
		return false // cached (or the database failed, which the normal path reports)
	}
	s, err := h.opts.Proxy.Blob(r.Context(), rt.Name, dgst, r.Method == http.MethodGet)
	if err != nil {
		h.fail(w, r, err)
		return true
	}
	if s == nil {
		return false
	}
	if rs := s.ReadSeeker(); rs != nil && r.Header.Get("Range") != "" {
		// A range of a blob still downloading (a client resuming, or
		// reading a layer in parts) is served from the spool as its bytes
		// arrive; ServeContent answers 206, 416 and If-Range.
		defer s.Body.Close()
		streamHeaders(w, dgst)
		http.ServeContent(w, r, "", time.Time{}, rs)
		if h.recording() {
			h.record(r, rt, events.Event{Action: events.Pull, Digest: dgst, Size: s.Size})
		}
		return true
	}
	serveStream(w, dgst, s)
	if s.Body == nil {
		return true
	}
	defer s.Body.Close()
	n, err := io.Copy(w, s.Body)
	if err != nil {
		// Headers are gone: end the connection, so that the client sees
		// a short body rather than a blob that is not the one it asked for.
		h.log.WarnContext(r.Context(), "blob stream from the upstream ended early", "repo", rt.Name, "digest", dgst, "sent", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	if h.recording() {
		h.record(r, rt, events.Event{Action: events.Pull, Digest: dgst, Size: n})
	}
	return true
}

// streamHeaders sets the headers of a blob served from its download.
func streamHeaders(w http.ResponseWriter, dgst digest.Digest) {
	hd := w.Header()
	hd.Set("Docker-Content-Digest", dgst.String())
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("ETag", `"`+dgst.String()+`"`)
}

// serveStream writes the headers of a blob served whole from its download.
func serveStream(w http.ResponseWriter, dgst digest.Digest, s *proxy.Stream) {
	streamHeaders(w, dgst)
	hd := w.Header()
	if s.Size >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(s.Size, 10))
	}
	w.WriteHeader(http.StatusOK)
}
