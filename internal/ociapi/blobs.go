package ociapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"wharf/internal/events"
	"wharf/internal/registry"
)

func (h *Handler) getBlob(w http.ResponseWriter, r *http.Request, rt route) {
	dgst, err := registry.ParseDigest(rt.Ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.proxyBlob(w, r, rt, dgst) {
		return
	}
	hd := w.Header()
	if r.Method == http.MethodGet && plainRange(r.Header.Get("Range")) {
		// An object store's blob is fetched from the store itself (a
		// presigned URL): the bytes do not pass through the registry.
		// HEAD is answered here, without a round trip to the store.
		u, size, err := h.reg.BlobURL(r.Context(), rt.Name, dgst)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if u != "" {
			hd.Set("Docker-Content-Digest", dgst.String())
			http.Redirect(w, r, u, http.StatusTemporaryRedirect)
			if h.recording() {
				h.record(r, rt, events.Event{Action: events.Pull, Digest: dgst, Size: size, Redirected: true})
			}
			return
		}
	}
	b, err := h.reg.OpenBlob(r.Context(), rt.Name, dgst)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer b.Close()
	hd.Set("Docker-Content-Digest", dgst.String())
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("ETag", `"`+dgst.String()+`"`)
	hd.Set("Cache-Control", "max-age=31536000")
	// ServeContent answers Range (206/416), HEAD and conditional requests;
	// with a file underneath, the copy to the socket is a sendfile.
	http.ServeContent(w, r, "", time.Time{}, b)
	if r.Method == http.MethodGet && h.recording() {
		h.record(r, rt, events.Event{Action: events.Pull, Digest: dgst, Size: b.Size()})
	}
}

// plainRange reports whether a Range header is absent or one range that
// an object store answers as ServeContent does. Anything else (several
// ranges, a start after the end, junk) is answered by the registry, with
// 416 or the whole blob as always: S3 would ignore such a header.
func plainRange(h string) bool {
	if h == "" {
		return true
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return false
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return false
	}
	if first == "" {
		n, err := strconv.ParseUint(last, 10, 63)
		return err == nil && n > 0
	}
	start, err := strconv.ParseUint(first, 10, 63)
	if err != nil {
		return false
	}
	if last == "" {
		return true
	}
	end, err := strconv.ParseUint(last, 10, 63)
	return err == nil && start <= end
}

func (h *Handler) deleteBlob(w http.ResponseWriter, r *http.Request, rt route) {
	dgst, err := registry.ParseDigest(rt.Ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.reg.DeleteBlob(r.Context(), rt.Name, dgst); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Docker-Content-Digest", dgst.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	if h.recording() {
		h.record(r, rt, events.Event{Action: events.Delete, Digest: dgst})
	}
}

// blobCreated answers a completed upload or mount.
func blobCreated(w http.ResponseWriter, name string, dgst string) {
	hd := w.Header()
	hd.Set("Location", "/v2/"+name+"/blobs/"+dgst)
	hd.Set("Docker-Content-Digest", dgst)
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// uploadAccepted answers a request that leaves an upload session open.
func uploadAccepted(w http.ResponseWriter, status int, u registry.Upload) {
	hd := w.Header()
	hd.Set("Location", "/v2/"+u.Repo+"/blobs/uploads/"+u.ID)
	hd.Set("Docker-Upload-UUID", u.ID)
	hd.Set("Range", uploadRange(u.Offset))
	hd.Set("Content-Length", "0")
	w.WriteHeader(status)
}

// uploadRange is the Range header of an upload holding size bytes: the
// inclusive range already received, "0-0" when empty as clients expect.
func uploadRange(size int64) string {
	end := size - 1
	if end < 0 {
		end = 0
	}
	return "0-" + strconv.FormatInt(end, 10)
}
