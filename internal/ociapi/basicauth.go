package ociapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"wharf/internal/auth"
)

// BasicAuth authorizes requests with HTTP Basic credentials: any valid
// user may do anything, as in distribution's htpasswd mode.
type BasicAuth struct {
	// Check reports whether user and password are valid; retryAfter > 0
	// means the login was refused by a rate limit.
	Check func(r *http.Request, user string, password auth.Secret) (ok bool, retryAfter time.Duration)
	Realm string
	Log   *slog.Logger
}

var _ Authorizer = (*BasicAuth)(nil)

// Authorize implements Authorizer.
func (a *BasicAuth) Authorize(r *http.Request, need []auth.Access) error {
	user, pass, ok := r.BasicAuth()
	if ok {
		valid, wait := a.Check(r, user, auth.Secret(pass))
		if valid {
			return nil
		}
		if wait > 0 {
			return &AuthError{Status: http.StatusTooManyRequests, Message: "too many failed logins; retry later",
				RetryAfter: max(int(wait.Round(time.Second)/time.Second), 1)}
		}
		a.Log.InfoContext(r.Context(), "login failed", "account", user, "remote", r.RemoteAddr)
	}
	return &AuthError{Status: http.StatusUnauthorized, Challenge: "Basic realm=" + strconv.Quote(a.Realm),
		Message: "authentication required", Need: need}
}

// SillyAuth is distribution's test-only "silly" auth: a request with any
// Authorization header is allowed, one without gets a challenge.
type SillyAuth struct {
	Realm, Service string
}

// Authorize implements Authorizer.
func (a *SillyAuth) Authorize(r *http.Request, need []auth.Access) error {
	if r.Header.Get("Authorization") != "" {
		return nil
	}
	ch := "Bearer realm=" + strconv.Quote(a.Realm) + ",service=" + strconv.Quote(a.Service)
	return &AuthError{Status: http.StatusUnauthorized, Challenge: ch, Message: "authentication required", Need: need}
}
