package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/htpasswd"
	"wharf/internal/config"
	"wharf/internal/ociapi"
)

// setupBasicAuth wires `auth: htpasswd`: HTTP Basic against an htpasswd
// file, every authenticated user may do everything (as distribution's
// htpasswd mode).
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
	check := func(r *http.Request, user string, password auth.Secret) (bool, time.Duration) {
		ip := ociapi.ClientIP(r)
		if ok, wait := limiter.Allow(user, ip); !ok {
			log.WarnContext(r.Context(), "login rate-limited", "account", user, "ip", ip)
			return false, wait
		}
		res, _, err := cached.Authenticate(r.Context(), user, password)
		if err != nil {
			log.ErrorContext(r.Context(), "htpasswd authentication failed", "err", err)
		}
		if res != authn.Accepted {
			limiter.Failed(user, ip)
			return false, 0
		}
		limiter.Succeeded(user, ip)
		return true, 0
	}
	return &ociapi.BasicAuth{Check: check, Realm: realm, Log: log}, nil
}
