package ociapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"wharf/internal/auth"
	"wharf/internal/errcode"
)

// BasicAuth authorizes requests with HTTP Basic credentials: any valid
// user may do anything, as in distribution's htpasswd mode.
type BasicAuth struct {
	// Check returns nil when user and password are valid. An *AuthError
	// is answered as it says (429 when rate-limited, 503 when the server
	// is busy or cannot check); any other error is a failed login.
	Check func(r *http.Request, user string, password auth.Secret) error
	Realm string
	Log   *slog.Logger
}

var _ Authorizer = (*BasicAuth)(nil)

// Authorize implements Authorizer.
func (a *BasicAuth) Authorize(r *http.Request, need []auth.Access) (string, error) {
	user, pass, ok := r.BasicAuth()
	if ok {
		err := a.Check(r, user, auth.Secret(pass))
		if err == nil {
			return user, nil
		}
		var ae *AuthError
		if errors.As(err, &ae) {
			return "", ae
		}
		a.Log.InfoContext(r.Context(), "login failed", "account", user, "remote", r.RemoteAddr)
	}
	return "", &AuthError{Code: errcode.Unauthorized, Challenge: "Basic realm=" + strconv.Quote(a.Realm),
		Message: "authentication required", Need: need}
}

// SillyAuth is distribution's test-only "silly" auth: a request with any
// Authorization header is allowed, one without gets a challenge. The
// header names nobody, so no account is reported.
type SillyAuth struct {
	Realm, Service string
}

// Authorize implements Authorizer.
func (a *SillyAuth) Authorize(r *http.Request, need []auth.Access) (string, error) {
	if r.Header.Get("Authorization") != "" {
		return "", nil
	}
	ch := "Bearer realm=" + strconv.Quote(a.Realm) + ",service=" + strconv.Quote(a.Service)
	return "", &AuthError{Code: errcode.Unauthorized, Challenge: ch, Message: "authentication required", Need: need}
}
