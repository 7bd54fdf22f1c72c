package authstack

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/htpasswd"
	"wharf/internal/config"
)

// Htpasswd is the login check of `auth: htpasswd`: an Apache htpasswd
// file behind the login cache, whose logins go through a limiter as the
// token server's do (their bcrypt comparisons through the process's
// password gate; the cache answers repeated credentials without either).
type Htpasswd struct {
	// Realm is the Basic challenge's realm (htpasswd.realm, or "wharf").
	Realm   string
	cached  authn.Authenticator
	limiter *authn.Limiter
}

// NewHtpasswd reads the htpasswd file of cfg, and again when it changes.
func NewHtpasswd(cfg config.Config, log *slog.Logger) (*Htpasswd, error) {
	h, err := htpasswd.New(cfg.Htpasswd.Path, log)
	if err != nil {
		return nil, fmt.Errorf("authstack: %w", err)
	}
	realm := cfg.Htpasswd.Realm
	if realm == "" {
		realm = "wharf"
	}
	return &Htpasswd{Realm: realm, cached: authn.NewCache(h, authn.CacheOptions{}),
		limiter: authn.NewLimiter(authn.LimiterOptions{})}, nil
}

// Login checks user's password, from the client at ip (authn.Limiter.Login:
// *authn.LimitedError when its buckets are empty).
func (h *Htpasswd) Login(ctx context.Context, user string, password auth.Secret, ip netip.Addr) (authn.Result, error) {
	res, _, err := h.limiter.Login(ctx, h.cached, user, password, ip)
	return res, err
}
