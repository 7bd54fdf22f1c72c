package errcode

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// entry is one error of the OCI distribution format's errors array.
type entry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func (e *Error) entry() entry {
	return entry{Code: e.Code.Value(), Message: e.Error(), Detail: e.Detail}
}

// setHeaders writes the challenges and the Retry-After of e; retryDefault,
// when positive, is the Retry-After of a 429 or 503 that brings none.
func setHeaders(h http.Header, e *Error, retryDefault int) {
	for _, c := range e.Challenges {
		h.Add("WWW-Authenticate", c)
	}
	retry := e.RetryAfter
	if s := e.Status(); retry <= 0 && (s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable) {
		retry = retryDefault
	}
	if retry > 0 {
		h.Set("Retry-After", strconv.Itoa(retry))
	}
}

// WriteOCI answers e in the OCI distribution format:
//
//	{"errors":[{"code":"BLOB_UNKNOWN","message":"…","detail":…}]}
//
// Headers a success would have carried (Content-Length,
// Docker-Content-Digest) are dropped; a 429 or 503 always says when to
// retry (at least in a second); a HEAD request gets the status and headers
// only.
func WriteOCI(w http.ResponseWriter, r *http.Request, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("Docker-Content-Digest")
	setHeaders(h, e, 1)
	w.WriteHeader(e.Status())
	if r != nil && r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(struct {
		Errors []entry `json:"errors"`
	}{[]entry{e.entry()}})
}

// WriteToken answers e in the token server's format: the OCI errors array,
// which docker and containerd print, and the OAuth2 error members (RFC
// 6749 §5.2) for OAuth2 clients, with the message as both details and
// error_description.
func WriteToken(w http.ResponseWriter, e *Error) {
	setHeaders(w.Header(), e, 0)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status())
	msg := e.Error()
	_ = json.NewEncoder(w).Encode(struct {
		Errors      []entry `json:"errors"`
		Details     string  `json:"details"`
		Error       string  `json:"error"`
		Description string  `json:"error_description"`
	}{[]entry{e.entry()}, msg, oauthError(e.Status()), msg})
}

// oauthError is the OAuth2 error of a token answer's status.
func oauthError(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "invalid_grant"
	case http.StatusInternalServerError:
		return "server_error"
	case http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	}
	return "invalid_request"
}

// WriteAdmin answers e in the admin API's format:
//
//	{"error": {"code": "invalid", "message": "…", "field": "password"}}
//
// indented like the API's other answers. A 503 without a Retry-After says 5
// seconds. Answers are never cached.
func WriteAdmin(w http.ResponseWriter, e *Error) {
	setHeaders(w.Header(), e, 5)
	type object struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}
	WriteJSON(w, e.Status(), struct {
		Error object `json:"error"`
	}{object{Code: e.Code.Value(), Message: e.Error(), Field: e.Field}})
}

// WriteJSON answers v as indented JSON, never cached and never sniffed:
// the admin API's answers, errors or not, which describe accounts and may
// hold a secret shown once.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
