package ociapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"wharf/internal/errcode"
	"wharf/internal/registry"
)

// fullErrors are writes refused for want of space: answered with the
// table's message only (the error names paths), and logged with the disk.
var fullErrors = []error{registry.ErrStorageFull, registry.ErrDatabaseFull}

// errorTable maps registry sentinels to codes, most specific first.
var errorTable = []struct {
	err  error
	code errcode.Code
}{
	{registry.ErrBlobUnknown, errcode.BlobUnknown},
	{registry.ErrUploadUnknown, errcode.BlobUploadUnknown},
	{registry.ErrRangeInvalid, errcode.RangeInvalid},
	{registry.ErrUploadStalled, errcode.UploadStalled},
	{registry.ErrUploadInvalid, errcode.BlobUploadInvalid},
	{registry.ErrDigestInvalid, errcode.DigestInvalid},
	{registry.ErrDigestUnsupported, errcode.DigestInvalid},
	{registry.ErrSizeInvalid, errcode.SizeInvalid},
	{registry.ErrManifestTooLarge, errcode.ManifestTooLarge},
	{registry.ErrManifestBlobUnknown, errcode.ManifestBlobUnknown},
	{registry.ErrManifestInvalid, errcode.ManifestInvalid},
	{registry.ErrManifestUnknown, errcode.ManifestUnknown},
	{registry.ErrNameUnknown, errcode.NameUnknown},
	{registry.ErrTagInvalid, errcode.TagInvalid},
	{registry.ErrTagImmutable, errcode.Denied},
	{registry.ErrReadOnly, errcode.Unavailable},
	{registry.ErrDenied, errcode.Denied},
}

// errorf is an error that already knows its code, for failures found in
// this package (bad paths, bad headers).
func errorf(c errcode.Code, msg string) error { return errcode.New(c, msg) }

// writeError is the only place an error of this package becomes an HTTP
// response. Client errors carry their message; anything unclassified is
// logged (with the request id, which the log handler adds from ctx) and
// answered with a generic UNKNOWN so no internal detail (a path, a SQL
// statement) reaches the client.
func (h *Handler) writeError(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	log := h.log
	for _, full := range fullErrors {
		if errors.Is(err, full) {
			space := "unknown"
			if h.opts.DiskSpace != nil {
				space = h.opts.DiskSpace()
			}
			log.ErrorContext(ctx, "no space left: writes fail until space is freed; uploads keep what they acknowledged and resume",
				"method", r.Method, "path", r.URL.Path, "data", space, "err", err)
			errcode.WriteOCI(w, r, errcode.New(errcode.StorageFull, ""))
			return
		}
	}
	if errors.Is(err, registry.ErrStorageUnavailable) {
		// The error names the store (bucket, endpoint): the log has it,
		// the client gets the code and a hint to retry.
		log.ErrorContext(ctx, "blob storage unavailable: the request failed after retries; check the store's endpoint, credentials and status",
			"method", r.Method, "path", r.URL.Path, "err", err)
		errcode.WriteOCI(w, r, errcode.New(errcode.Unavailable, "blob storage unavailable; retry later"))
		return
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		log.DebugContext(ctx, "request not authorized", "method", r.Method, "path", r.URL.Path, "status", ae.Code.Status(), "reason", ae.Message)
		errcode.WriteOCI(w, r, ae.answer())
		return
	}
	e := classify(err)
	if e.Code == errcode.Unknown {
		log.ErrorContext(ctx, "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errcode.New(errcode.Unknown, "")
	} else {
		log.DebugContext(ctx, "request refused", "method", r.Method, "path", r.URL.Path, "code", e.Code.Value(), "err", err)
	}
	errcode.WriteOCI(w, r, e)
}

// classify finds the answer to err: its own when it is an *errcode.Error,
// the table's code with the registry's message for a registry sentinel,
// else UNKNOWN.
func classify(err error) *errcode.Error {
	if e, ok := errcode.As(err); ok {
		return e
	}
	for _, t := range errorTable {
		if errors.Is(err, t.err) {
			return errcode.New(t.code, strings.TrimPrefix(err.Error(), "registry: "))
		}
	}
	return errcode.New(errcode.Unknown, "")
}
