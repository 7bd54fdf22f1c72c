package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/htpasswd"
	"wharf/internal/config"
	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/gate"
	"wharf/internal/ociapi"
)

// errLoginFailed is a wrong user name or password on the registry's Basic
// auth (answered 401 with a challenge).
var errLoginFailed = errors.New("server: incorrect username or password")

// setupBasicAuth wires `auth: htpasswd`: HTTP Basic against an htpasswd
// file, every authenticated user may do everything (as distribution's
// htpasswd mode). Logins go through the limiter's Login, as the token
// server's do, and their bcrypt comparisons through the process's password
// gate; the cache answers repeated credentials without either.
func setupBasicAuth(cfg config.Config, log *slog.Logger) (ociapi.Authorizer, error) {
	h, err := htpasswd.New(cfg.Htpasswd.Path, log)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	realm := cfg.Htpasswd.Realm
	if realm == "" {
		realm = "wharf"
	}
	cached := authn.NewCache(h, authn.CacheOptions{})
	limiter := authn.NewLimiter(authn.LimiterOptions{})
	check := func(r *http.Request, user string, password auth.Secret) error {
		ip := edge.ClientIP(r)
		res, _, err := limiter.Login(r.Context(), cached, user, password, ip)
		var limited *authn.LimitedError
		var busy *gate.BusyError
		switch {
		case errors.As(err, &limited):
			log.WarnContext(r.Context(), "login rate-limited", "account", user, "ip", ip)
			return &ociapi.AuthError{Code: errcode.TooManyRequests, Message: "too many failed logins; retry later",
				RetryAfter: limited.RetryAfterSeconds()}
		case errors.As(err, &busy):
			return &ociapi.AuthError{Code: errcode.Unavailable, Message: "the server is busy (" + busy.What + "); retry in a moment",
				RetryAfter: busy.RetryAfterSeconds()}
		case err != nil:
			if r.Context().Err() == nil { // else the client left: nothing failed
				log.ErrorContext(r.Context(), "htpasswd authentication failed", "account", user, "err", err)
			}
			return &ociapi.AuthError{Code: errcode.Unavailable, Message: "the credentials cannot be checked now; retry later (the server log has the details)",
				RetryAfter: 5}
		case res != authn.Accepted:
			return errLoginFailed
		}
		return nil
	}
	return &ociapi.BasicAuth{Check: check, Realm: realm, Log: log}, nil
}
