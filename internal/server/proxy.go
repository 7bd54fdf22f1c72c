package server

import (
	"fmt"
	"os"

	"wharf/internal/authstack"
	"wharf/internal/metrics"
	"wharf/internal/proxy"
)

// newProxy builds the pull-through cache of proxy.upstreams; nil when
// there is none.
func (s *Server) newProxy() (*proxy.Cache, error) {
	if len(s.cfg.Proxy.Upstreams) == 0 {
		return nil, nil
	}
	var ups []proxy.Upstream
	for i, cu := range s.cfg.Proxy.Upstreams {
		cu = cu.WithDefaults()
		client, err := authstack.UpstreamClient(i, cu)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		ups = append(ups, proxy.Upstream{Prefix: cu.Prefix, Client: client, TTL: cu.TTL.Std(), DockerHub: authstack.IsDockerHub(cu)})
		s.log.Info("pull-through cache", "prefix", cu.Prefix, "mirror", cu.Mirror, "upstream", cu.URL,
			"ttl", cu.TTL.Std(), "authenticated", cu.Username != "")
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
