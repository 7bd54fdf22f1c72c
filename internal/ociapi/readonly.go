package ociapi

import (
	"net/http"
	"strings"

	"wharf/internal/errcode"
)

// ReadOnlyRetryAfter is the Retry-After, in seconds, of a write refused
// because the registry is read-only: maintenance takes minutes, and
// clients that retry sooner only add load.
const ReadOnlyRetryAfter = 60

// checkWritable refuses a write (any method but GET and HEAD: uploads,
// manifest PUT, deletes) while the registry is read-only, after
// authorization so that the answer tells nothing to a client that may not
// write anyway.
func (h *Handler) checkWritable(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	err := h.reg.CheckWritable(r.Context())
	if err == nil {
		return nil
	}
	return &errcode.Error{Code: errcode.Unavailable, Message: strings.TrimPrefix(err.Error(), "registry: "),
		RetryAfter: ReadOnlyRetryAfter}
}
