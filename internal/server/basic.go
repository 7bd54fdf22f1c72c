package server

import (
	"context"
	"fmt"
	"log/slog"

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
	check := func(ctx context.Context, user string, password auth.Secret) bool {
		res, _, err := cached.Authenticate(ctx, user, password)
		if err != nil {
			log.ErrorContext(ctx, "htpasswd authentication failed", "err", err)
		}
		return res == authn.Accepted
	}
	return &ociapi.BasicAuth{Check: check, Realm: realm, Log: log}, nil
}
