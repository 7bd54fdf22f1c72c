package ociapi

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"wharf/internal/events"
	"wharf/internal/registry"

	"wharf/internal/errcode"
)

// startUpload is POST /v2/<name>/blobs/uploads/: a mount (?mount=&from=), a
// single-request upload (?digest= with the body), or a new session.
func (h *Handler) startUpload(w http.ResponseWriter, r *http.Request, rt route) {
	ctx := r.Context()
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" {
		dgst, err := registry.ParseDigest(m)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		from := q.Get("from")
		if from != "" && !registry.ValidName(from) {
			h.fail(w, r, errorf(errcode.NameInvalid, "invalid repository name in from"))
			return
		}
		// The authorizer has checked pull access on `from` (see needs).
		size, err := h.reg.MountBlob(ctx, rt.Name, from, dgst)
		if err == nil {
			blobCreated(w, rt.Name, dgst.String())
			if h.recording() {
				h.record(r, rt, events.Event{Action: events.Mount, Digest: dgst, Size: size, From: from})
			}
			return
		}
		if !errors.Is(err, registry.ErrBlobUnknown) {
			h.fail(w, r, err)
			return
		}
		// Not mountable: fall back to a new upload session, as the spec says.
	}
	if d := q.Get("digest"); d != "" {
		dgst, err := registry.ParseDigest(d)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		u, err := h.reg.StartUpload(ctx, rt.Name)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		n, err := h.reg.FinishUpload(ctx, rt.Name, u.ID, dgst, -1, r.ContentLength, r.Body)
		if err != nil {
			_ = h.reg.CancelUpload(ctx, rt.Name, u.ID)
			h.fail(w, r, err)
			return
		}
		blobCreated(w, rt.Name, dgst.String())
		if h.recording() {
			h.record(r, rt, events.Event{Action: events.Push, Digest: dgst, Size: n})
		}
		return
	}
	u, err := h.reg.StartUpload(ctx, rt.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uploadAccepted(w, http.StatusAccepted, u)
}

func (h *Handler) uploadStatus(w http.ResponseWriter, r *http.Request, rt route) {
	u, err := h.reg.UploadStatus(r.Context(), rt.Name, rt.Ref)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uploadAccepted(w, http.StatusNoContent, u)
}

// patchUpload appends a chunk (with Content-Range) or a stream (without).
func (h *Handler) patchUpload(w http.ResponseWriter, r *http.Request, rt route) {
	start, size, err := chunkRange(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.reg.AppendUpload(r.Context(), rt.Name, rt.Ref, start, size, r.Body)
	if err != nil {
		if errors.Is(err, registry.ErrRangeInvalid) || errors.Is(err, registry.ErrUploadStalled) {
			// Tell the client where to resume.
			resumeAt(w, rt, u.Offset)
		}
		h.fail(w, r, err)
		return
	}
	uploadAccepted(w, http.StatusAccepted, u)
}

// finishUpload is PUT ?digest=, with an optional last chunk as the body.
func (h *Handler) finishUpload(w http.ResponseWriter, r *http.Request, rt route) {
	d := r.URL.Query().Get("digest")
	if d == "" {
		h.fail(w, r, errorf(errcode.DigestInvalid, "the digest query parameter is required to complete an upload"))
		return
	}
	dgst, err := registry.ParseDigest(d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	start, size, err := chunkRange(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := h.reg.FinishUpload(r.Context(), rt.Name, rt.Ref, dgst, start, size, r.Body)
	if err != nil {
		switch {
		case errors.Is(err, registry.ErrRangeInvalid):
			w.Header().Set("Location", "/v2/"+rt.Name+"/blobs/uploads/"+rt.Ref)
		case errors.Is(err, registry.ErrUploadStalled):
			resumeAt(w, rt, n)
		}
		h.fail(w, r, err)
		return
	}
	blobCreated(w, rt.Name, dgst.String())
	if h.recording() {
		h.record(r, rt, events.Event{Action: events.Push, Digest: dgst, Size: n})
	}
}

// resumeAt tells the client of a failed chunk where its upload resumes.
func resumeAt(w http.ResponseWriter, rt route, offset int64) {
	w.Header().Set("Location", "/v2/"+rt.Name+"/blobs/uploads/"+rt.Ref)
	w.Header().Set("Range", uploadRange(offset))
}

func (h *Handler) cancelUpload(w http.ResponseWriter, r *http.Request, rt route) {
	if err := h.reg.CancelUpload(r.Context(), rt.Name, rt.Ref); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// chunkRange reads Content-Range and Content-Length. It returns the offset
// the chunk claims to start at (-1 when no Content-Range was sent) and the
// body length (-1 when unknown).
func chunkRange(r *http.Request) (start, size int64, err error) {
	size = r.ContentLength
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, size, nil
	}
	s, e, err := parseContentRange(cr)
	if err != nil {
		return 0, 0, err
	}
	if size >= 0 && size != e-s+1 {
		return 0, 0, errorf(errcode.SizeInvalid, "Content-Length does not match Content-Range")
	}
	return s, e - s + 1, nil
}

// parseContentRange parses the spec's "<start>-<end>" (inclusive). A
// "bytes " or "bytes=" prefix, which some clients send, is tolerated.
func parseContentRange(v string) (start, end int64, err error) {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "bytes="), "bytes ")
	a, b, ok := strings.Cut(v, "-")
	if !ok || a == "" || b == "" || len(a) > 19 || len(b) > 19 {
		return 0, 0, errorf(errcode.RangeInvalid, "Content-Range must be <start>-<end>")
	}
	for _, c := range a + b {
		if c < '0' || c > '9' {
			return 0, 0, errorf(errcode.RangeInvalid, "Content-Range must be <start>-<end>")
		}
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || end < start {
		return 0, 0, errorf(errcode.RangeInvalid, "Content-Range must be <start>-<end> with start <= end")
	}
	if end-start == math.MaxInt64 {
		// The chunk's length, end-start+1, does not fit in an int64.
		return 0, 0, errorf(errcode.RangeInvalid, "Content-Range is larger than any blob can be")
	}
	return start, end, nil
}
