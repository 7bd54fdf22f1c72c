package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"wharf/internal/identity"
	"wharf/internal/metadata"
)

// Error codes of the JSON error body, one per status the API answers with.
const (
	CodeInvalid            = "invalid"                // 400: bad input; field names it
	CodeUnauthorized       = "unauthorized"           // 401: no or wrong credentials
	CodeForbidden          = "forbidden"              // 403: not granted admin:api:*
	CodeNotFound           = "not_found"              // 404
	CodeMethodNotAllowed   = "method_not_allowed"     // 405
	CodeConflict           = "conflict"               // 409: the name or membership exists
	CodePreconditionFailed = "precondition_failed"    // 412: If-Match does not match
	CodeRequestTimeout     = "request_timeout"        // 408: the body did not arrive in time
	CodeTooLarge           = "too_large"              // 413
	CodeUnsupportedMedia   = "unsupported_media_type" // 415
	CodeTooManyRequests    = "too_many_requests"      // 429: failed logins rate-limited
	CodeInternal           = "internal"               // 500
	CodeUnavailable        = "unavailable"            // 503: database or backend down
)

// Error is an answer other than success. Message is safe to show: it never
// holds a password, a token or a backend's internals.
type Error struct {
	Status  int
	Code    string
	Message string
	// Field names the request member (or query parameter) at fault.
	Field string
	// Challenge is the WWW-Authenticate values of a 401 or 403.
	Challenge []string
	// RetryAfter, in seconds, for a 429 or 503 (a 503 without one says 5).
	RetryAfter int
}

func (e *Error) Error() string { return e.Message }

func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// fieldError attaches the request member an identity error is about.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// about marks err (when it is a validation error) as about field.
func about(field string, err error) error {
	if err == nil {
		return nil
	}
	return &fieldError{field: field, err: err}
}

// errorBody is the JSON body of every error.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// toError is the one table from errors to answers: validation errors are
// 400, missing things 404, existing ones 409; anything else comes from the
// database (or a bug) and is 503, with the details in the log only.
func (a *API) toError(r *http.Request, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var fe *fieldError
	field := ""
	if errors.As(err, &fe) {
		field = fe.field
	}
	switch {
	case errors.Is(err, identity.ErrInvalid):
		msg := strings.ReplaceAll(err.Error(), "identity: invalid: ", "")
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: field, Message: msg}
	case errors.Is(err, metadata.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound,
			Message: strings.Replace(err.Error(), "metadata: not found: ", "no such ", 1)}
	case errors.Is(err, metadata.ErrExists):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Field: field,
			Message: strings.Replace(err.Error(), "metadata: already exists: ", "", 1) + " already exists"}
	}
	a.log.ErrorContext(r.Context(), "admin API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the database is unavailable or failed; retry later (the server log has the details)"}
}

// writeError is the only place an error becomes a response.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := a.toError(r, err)
	h := w.Header()
	for _, c := range e.Challenge {
		h.Add("WWW-Authenticate", c)
	}
	switch {
	case e.RetryAfter > 0:
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	case e.Status == http.StatusServiceUnavailable:
		h.Set("Retry-After", "5")
	}
	writeJSON(w, e.Status, errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}})
}

// writeJSON answers with v as JSON. Responses are never cached: they
// describe accounts, and the one from token creation holds a secret.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// noContent answers 204.
func noContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
