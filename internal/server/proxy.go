package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"wharf/internal/adminapi"
	"wharf/internal/auth"

	"wharf/internal/authstack"
	"wharf/internal/metrics"
	"wharf/internal/proxy"
	"wharf/internal/upstreamcreds"
)

// upstreamCredentials is the store of the upstreams' credentials, its
// changes in the audit log (the audit log is open before it is asked for).
func (s *Server) upstreamCredentials() *upstreamcreds.Store {
	if s.upcreds == nil {
		s.upcreds = authstack.UpstreamCredentials(s.cfg, s.meta, s.auditChanges())
	}
	return s.upcreds
}

// newProxy builds the pull-through cache of proxy.upstreams; nil when
// there is none.
func (s *Server) newProxy() (*proxy.Cache, error) {
	if len(s.cfg.Proxy.Upstreams) == 0 {
		return nil, nil
	}
	var ups []proxy.Upstream
	creds := s.upstreamCredentials()
	states, err := authstack.UpstreamCredentialStates(context.Background(), s.cfg, creds)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	for i, cu := range s.cfg.Proxy.Upstreams {
		cu = cu.WithDefaults()
		client, err := authstack.UpstreamClient(i, cu, creds)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		ups = append(ups, proxy.Upstream{Prefix: cu.Prefix, Client: client, TTL: cu.TTL.Std(), DockerHub: authstack.IsDockerHub(cu)})
		st := states[i]
		s.log.Info("pull-through cache", "name", cu.Name, "prefix", cu.Prefix, "mirror", cu.Mirror, "upstream", cu.URL,
			"ttl", cu.TTL.Std(), "credentials", st.Source, "overrides_config", st.OverridesConfig)
		if st.Error != "" {
			// The server still starts: the other upstreams and the cache
			// serve, and a fixed key or credential takes effect without a
			// restart.
			s.log.Error("the stored credential of this upstream does not open; pulls that need the upstream fail until it is fixed",
				"name", cu.Name, "err", st.Error)
		}
	}
	spool := s.dir.Spool()
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("server: proxy spool: %w", err)
	}
	c, err := proxy.New(s.reg, s.log, ups, proxy.Options{SpoolDir: spool})
	if err != nil {
		return nil, err
	}
	if s.metrics != nil {
		_ = s.metrics.Register(metrics.NewProxyStats(func() metrics.ProxyStats { return proxyStats(c) }))
	}
	return c, nil
}

func proxyStats(c *proxy.Cache) metrics.ProxyStats {
	st := c.Stats()
	out := metrics.ProxyStats{ManifestFetches: st.ManifestFetches, BlobFetches: st.BlobFetches,
		Revalidations: st.Revalidations, Hits: st.Hits, Stale: st.Stale}
	for _, u := range c.Upstreams() {
		out.Upstreams = append(out.Upstreams, metrics.ProxyUpstream{Prefix: u.Prefix, Limit: u.RateLimit.Limit, Remaining: u.RateLimit.Remaining})
	}
	return out
}

// adminUpstreamCredentials is the admin API's view of the stored upstream
// credentials; nil without proxy.upstreams.
func (s *Server) adminUpstreamCredentials() *adminapi.UpstreamCredentials {
	if len(s.cfg.Proxy.Upstreams) == 0 {
		return nil
	}
	creds := s.upstreamCredentials()
	return &adminapi.UpstreamCredentials{
		List: func(ctx context.Context) (any, error) {
			return authstack.UpstreamCredentialStates(ctx, s.cfg, creds)
		},
		Set: func(ctx context.Context, upstream, username string, password auth.Secret) (any, error) {
			info, err := creds.Set(ctx, upstream, username, password)
			return info, adminUpstreamError(err)
		},
		Remove: func(ctx context.Context, upstream string) error {
			return adminUpstreamError(creds.Remove(ctx, upstream))
		},
	}
}

// adminUpstreamError wraps the store's refusals in the admin API's
// sentinels, keeping their explanation.
func adminUpstreamError(err error) error {
	for from, to := range map[error]error{upstreamcreds.ErrUnknownUpstream: adminapi.ErrNoUpstream,
		upstreamcreds.ErrNotFound: adminapi.ErrNoCredential, upstreamcreds.ErrInvalid: adminapi.ErrInvalidCredential,
		upstreamcreds.ErrNoKey: adminapi.ErrCredentialKey} {
		if errors.Is(err, from) {
			return fmt.Errorf("%w: %s", to, strings.TrimPrefix(err.Error(), "upstreamcreds: "))
		}
	}
	return err
}
