package upstream

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinels of the client.
var (
	// ErrUnreachable is an upstream that gave no answer: refused, reset,
	// a TLS failure or a timeout.
	ErrUnreachable = errors.New("upstream unreachable")
	// ErrDigestMismatch is content whose bytes do not hash to its digest.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInvalidName is a repository name or reference the client refuses
	// to send.
	ErrInvalidName = errors.New("invalid name")
	// ErrCredentials is credentials Options.Credentials could not give
	// (a stored one that does not open on this server): the upstream was
	// not asked. Its message is for the operator, not for clients.
	ErrCredentials = errors.New("the credentials for the upstream cannot be read")
)

// StatusError is an upstream's answer other than success.
type StatusError struct {
	Host       string
	Status     int
	Code       string // the OCI error code of its body, if any
	Message    string
	RetryAfter time.Duration // from Retry-After, if any
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("upstream: %s answered %d %s", e.Host, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		msg += " (" + e.Code
		if e.Message != "" {
			msg += ": " + e.Message
		}
		msg += ")"
	}
	return msg
}

// Transient reports whether err is an upstream that is down, slow or
// rate-limiting: the cases a cache answers with what it has.
func Transient(err error) bool {
	if errors.Is(err, ErrUnreachable) {
		return true
	}
	var se *StatusError
	return errors.As(err, &se) && (se.Status == http.StatusTooManyRequests || se.Status >= 500)
}

// NotFound reports whether the upstream said the content does not exist.
func NotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}
