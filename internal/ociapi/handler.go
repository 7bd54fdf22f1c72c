package ociapi

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"wharf/internal/events"
	"wharf/internal/proxy"
	"wharf/internal/registry"

	"wharf/internal/errcode"
)

// Handler serves the OCI Distribution API under /v2/.
type Handler struct {
	reg   *registry.Registry
	log   *slog.Logger
	authz Authorizer
	opts  Options
	slots *uploadSlots
}

// Options tunes the API.
type Options struct {
	// DeleteEnabled allows DELETE of manifests, tags and blobs
	// (distribution's storage.delete.enabled).
	DeleteEnabled bool
	// MaxListPage bounds a page of tags/list and _catalog; 0 or less
	// means DefaultMaxListPage.
	MaxListPage int
	// MaxReferrersPage bounds a page of the referrers API; 0 or less
	// means DefaultMaxReferrersPage.
	MaxReferrersPage int
	// MaxUploads caps the requests sending a blob's bytes at once, and
	// MaxUploadsPerClient those of one account (or of one address, for a
	// client without one); the next is answered 429 TOOMANYREQUESTS with
	// Retry-After. Zero means no cap.
	MaxUploads, MaxUploadsPerClient int
	// UploadIdleTimeout ends a request whose body (a blob's bytes or a
	// manifest) sends nothing for this long: 408, and an upload session
	// keeps the bytes it received. Zero means none.
	UploadIdleTimeout time.Duration
	// Failed, when set, is handed each error the API answers 500 UNKNOWN
	// (a storage or database failure, or a bug), for the metrics. It must
	// not block.
	Failed func(err error)
	// Events receives a record of every manifest and blob pushed, pulled
	// (GET), mounted or deleted; nil records nothing.
	Events events.Sink
	// Proxy, when set, is the pull-through cache: its repositories are
	// filled from their upstreams on pull and refuse pushes.
	Proxy *proxy.Cache
	// DiskSpace, if set, names the data directory's filesystem and its
	// free space for the log line of a write refused for want of space.
	DiskSpace func() string
}

// New returns the /v2/ handler. log must not be nil; authz nil means every
// request is allowed (auth: none).
func New(reg *registry.Registry, log *slog.Logger, authz Authorizer, opts Options) *Handler {
	if opts.MaxListPage <= 0 {
		opts.MaxListPage = DefaultMaxListPage
	}
	if opts.MaxReferrersPage <= 0 {
		opts.MaxReferrersPage = DefaultMaxReferrersPage
	}
	h := &Handler{reg: reg, log: log.With("component", "ociapi"), authz: authz, opts: opts}
	h.slots = newUploadSlots(opts.MaxUploads, opts.MaxUploadsPerClient, h.log)
	return h
}

// ServeHTTP routes a /v2/ request to its endpoint.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	rt, err := parsePath(r.URL.Path)
	if err != nil {
		h.writeError(r.Context(), w, r, err)
		return
	}
	type endpoint map[string]func(http.ResponseWriter, *http.Request, route)
	var ep endpoint
	switch rt.Kind {
	case routeBase:
		ep = endpoint{http.MethodGet: h.base, http.MethodHead: h.base}
	case routeCatalog:
		ep = endpoint{http.MethodGet: h.catalog}
	case routeTags:
		ep = endpoint{http.MethodGet: h.tags}
	case routeManifest:
		ep = endpoint{http.MethodGet: h.getManifest, http.MethodHead: h.getManifest,
			http.MethodPut: h.putManifest, http.MethodDelete: h.deleteManifest}
	case routeBlob:
		ep = endpoint{http.MethodGet: h.getBlob, http.MethodHead: h.getBlob, http.MethodDelete: h.deleteBlob}
	case routeUploadStart:
		ep = endpoint{http.MethodPost: h.startUpload}
	case routeUpload:
		ep = endpoint{http.MethodGet: h.uploadStatus, http.MethodPatch: h.patchUpload,
			http.MethodPut: h.finishUpload, http.MethodDelete: h.cancelUpload}
	case routeReferrers:
		ep = endpoint{http.MethodGet: h.referrers}
	}
	if !h.opts.DeleteEnabled && (rt.Kind == routeManifest || rt.Kind == routeBlob) {
		delete(ep, http.MethodDelete)
	}
	fn, ok := ep[r.Method]
	if !ok {
		allow := make([]string, 0, len(ep))
		for m := range ep {
			allow = append(allow, m)
		}
		slices.Sort(allow)
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.writeError(r.Context(), w, r, errorf(errcode.Unsupported, "method "+r.Method+" is not allowed here"))
		return
	}
	if err := h.refuseProxyWrite(r, rt); err != nil {
		h.fail(w, r, err)
		return
	}
	var account string
	if h.authz != nil {
		if account, err = h.authz.Authorize(r, needs(rt, r)); err != nil {
			h.fail(w, r, err)
			return
		}
		rt.Account = account
	}
	if err := h.checkWritable(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if carriesBlob(rt, r) {
		client := clientKey(r, account)
		release, err := h.slots.acquire(r.Context(), client)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		defer release()
	}
	withIdleTimeout(w, r, h.opts.UploadIdleTimeout, h.log)
	fn(w, r, rt)
}

func (h *Handler) base(w http.ResponseWriter, r *http.Request, _ route) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte("{}"))
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if h.opts.Failed != nil && classify(err).Code == errcode.Unknown {
		h.opts.Failed(err)
	}
	h.writeError(r.Context(), w, r, err)
}
