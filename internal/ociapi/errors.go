package ociapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"wharf/internal/registry"
)

// code is an OCI error code with its HTTP status.
type code struct {
	Name   string
	Status int
}

// The OCI distribution spec's error codes, plus UNKNOWN for failures that
// are ours rather than the client's.
var (
	codeBlobUnknown         = code{"BLOB_UNKNOWN", http.StatusNotFound}
	codeBlobUploadInvalid   = code{"BLOB_UPLOAD_INVALID", http.StatusBadRequest}
	codeRangeInvalid        = code{"BLOB_UPLOAD_INVALID", http.StatusRequestedRangeNotSatisfiable}
	codeBlobUploadUnknown   = code{"BLOB_UPLOAD_UNKNOWN", http.StatusNotFound}
	codeDigestInvalid       = code{"DIGEST_INVALID", http.StatusBadRequest}
	codeManifestBlobUnknown = code{"MANIFEST_BLOB_UNKNOWN", http.StatusBadRequest}
	codeManifestInvalid     = code{"MANIFEST_INVALID", http.StatusBadRequest}
	codeManifestTooLarge    = code{"SIZE_INVALID", http.StatusRequestEntityTooLarge}
	codeManifestUnknown     = code{"MANIFEST_UNKNOWN", http.StatusNotFound}
	codeNameInvalid         = code{"NAME_INVALID", http.StatusBadRequest}
	codeNameUnknown         = code{"NAME_UNKNOWN", http.StatusNotFound}
	codeSizeInvalid         = code{"SIZE_INVALID", http.StatusBadRequest}
	codeTagInvalid          = code{"TAG_INVALID", http.StatusBadRequest}
	codePaginationInvalid   = code{"PAGINATION_NUMBER_INVALID", http.StatusBadRequest}
	codeUnsupported         = code{"UNSUPPORTED", http.StatusMethodNotAllowed}
	codeNotFound            = code{"NOT_FOUND", http.StatusNotFound}
	codeUnknown             = code{"UNKNOWN", http.StatusInternalServerError}
	codeTooManyRequests     = code{"TOOMANYREQUESTS", http.StatusTooManyRequests}
	// A body that stopped arriving: 408 (the spec has no code of its own
	// for it); an upload session keeps what the body sent.
	codeUploadStalled   = code{"BLOB_UPLOAD_INVALID", http.StatusRequestTimeout}
	codeManifestStalled = code{"MANIFEST_INVALID", http.StatusRequestTimeout}
)

// errorTable maps registry sentinels to codes, most specific first.
var errorTable = []struct {
	err  error
	code code
}{
	{registry.ErrBlobUnknown, codeBlobUnknown},
	{registry.ErrUploadUnknown, codeBlobUploadUnknown},
	{registry.ErrRangeInvalid, codeRangeInvalid},
	{registry.ErrUploadStalled, codeUploadStalled},
	{registry.ErrUploadInvalid, codeBlobUploadInvalid},
	{registry.ErrDigestInvalid, codeDigestInvalid},
	{registry.ErrDigestUnsupported, codeDigestInvalid},
	{registry.ErrSizeInvalid, codeSizeInvalid},
	{registry.ErrManifestTooLarge, codeManifestTooLarge},
	{registry.ErrManifestBlobUnknown, codeManifestBlobUnknown},
	{registry.ErrManifestInvalid, codeManifestInvalid},
	{registry.ErrManifestUnknown, codeManifestUnknown},
	{registry.ErrNameUnknown, codeNameUnknown},
	{registry.ErrTagInvalid, codeTagInvalid},
}

// apiError is an error that already knows its code, for failures found in
// this package (bad paths, bad headers).
type apiError struct {
	code code
	msg  string
	// retryAfter, in seconds, is sent as Retry-After when positive.
	retryAfter int
}

func (e *apiError) Error() string { return e.msg }

func errorf(c code, msg string) error { return &apiError{code: c, msg: msg} }

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError is the only place an error becomes an HTTP response. Client
// errors carry their message; anything unclassified is logged with the
// request id and answered with a generic UNKNOWN so no internal detail (a
// path, a SQL statement) reaches the client.
func writeError(ctx context.Context, log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	var ae *AuthError
	if errors.As(err, &ae) {
		writeAuthError(ctx, log, w, r, ae)
		return
	}
	c, msg := classify(err)
	if c == codeUnknown {
		log.ErrorContext(ctx, "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; the server log has the details"
	} else {
		log.DebugContext(ctx, "request refused", "method", r.Method, "path", r.URL.Path, "code", c.Name, "err", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("Docker-Content-Digest")
	if ae := (*apiError)(nil); errors.As(err, &ae) && ae.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	w.WriteHeader(c.Status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(errorBody{Errors: []errorEntry{{Code: c.Name, Message: msg}}})
}

func classify(err error) (code, string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code, ae.msg
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.code, strings.TrimPrefix(err.Error(), "registry: ")
		}
	}
	return codeUnknown, ""
}

// writeAuthError answers a refused request. The body lists the access the
// request needed, so a user can see which permission is missing.
func writeAuthError(ctx context.Context, log *slog.Logger, w http.ResponseWriter, r *http.Request, e *AuthError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("Docker-Content-Digest")
	name := "UNAUTHORIZED"
	switch e.Status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", e.Challenge)
	case http.StatusForbidden:
		name = "DENIED"
	case http.StatusTooManyRequests:
		name = "TOOMANYREQUESTS"
		h.Set("Retry-After", strconv.Itoa(max(e.RetryAfter, 1)))
	case http.StatusServiceUnavailable:
		name = "UNAVAILABLE"
		h.Set("Retry-After", strconv.Itoa(max(e.RetryAfter, 1)))
	}
	log.DebugContext(ctx, "request not authorized", "method", r.Method, "path", r.URL.Path, "status", e.Status, "reason", e.Message)
	w.WriteHeader(e.Status)
	if r.Method == http.MethodHead {
		return
	}
	var detail any
	if len(e.Need) > 0 {
		detail = e.Need
	}
	_ = json.NewEncoder(w).Encode(errorBody{Errors: []errorEntry{{Code: name, Message: e.Message, Detail: detail}}})
}
