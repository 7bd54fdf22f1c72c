package adminapi

import (
	"errors"
	"fmt"
	"net/http"

	"wharf/internal/accounts"
	"wharf/internal/errcode"
)

// The API's error codes are errcode's Admin family (errcode.AdminInvalid,
// AdminNotFound, …): one per status the API answers with. Their messages
// are safe to show: never a password, a token or a backend's internals.

func invalid(field, format string, args ...any) *errcode.Error {
	return &errcode.Error{Code: errcode.AdminInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// fieldError attaches the request member an accounts error is about.
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

// toError is the one table from errors to answers: validation errors are
// 400, missing things 404, existing ones, refused changes (the last
// administrator, the built-in admin) and a change that lost its race with
// other account changes every time it was tried 409; anything else comes
// from the database (or a bug) and is 503, with the details in the log
// only.
func (a *API) toError(r *http.Request, err error) *errcode.Error {
	if e, ok := errcode.As(err); ok {
		return e
	}
	var fe *fieldError
	field := ""
	if errors.As(err, &fe) {
		field = fe.field
	}
	switch kind, msg := accounts.Refused(err); kind {
	case accounts.Invalid:
		return &errcode.Error{Code: errcode.AdminInvalid, Field: field, Message: msg}
	case accounts.Missing:
		return &errcode.Error{Code: errcode.AdminNotFound, Message: msg}
	case accounts.Conflict:
		return &errcode.Error{Code: errcode.AdminConflict, Field: field, Message: msg}
	}
	a.log.ErrorContext(r.Context(), "admin API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return errcode.New(errcode.AdminUnavailable, "")
}

// writeError is the only place an error becomes a response.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	errcode.WriteAdmin(w, a.toError(r, err))
}

// writeJSON answers with v as JSON. Responses are never cached: they
// describe accounts, and the one from token creation holds a secret.
func writeJSON(w http.ResponseWriter, status int, v any) { errcode.WriteJSON(w, status, v) }

// noContent answers 204.
func noContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
