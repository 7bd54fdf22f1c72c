package server

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/buildinfo"
	"wharf/internal/metrics"
	"wharf/internal/proxy"
	"wharf/internal/upstream"
)

// dockerHubHosts are the names of Docker Hub's registry, where a
// single-component name means library/<name>.
var dockerHubHosts = map[string]bool{"registry-1.docker.io": true, "index.docker.io": true, "docker.io": true}

// newProxy builds the pull-through cache of proxy.upstreams; nil when
// there is none.
func (s *Server) newProxy() (*proxy.Cache, error) {
	if len(s.cfg.Proxy.Upstreams) == 0 {
		return nil, nil
	}
	var ups []proxy.Upstream
	for i, cu := range s.cfg.Proxy.Upstreams {
		cu = cu.WithDefaults()
		password := cu.Password
		if cu.PasswordFile != "" {
			b, err := os.ReadFile(cu.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("server: proxy.upstreams[%d].password_file: %w", i, err)
			}
			password = auth.Secret(strings.TrimRight(string(b), "\r\n"))
		}
		client, err := upstream.New(upstream.Options{URL: cu.URL, Username: cu.Username, Password: password,
			CAFile: cu.CAFile, InsecureSkipVerify: cu.InsecureSkipVerify, Timeout: cu.Timeout.Std(),
			UserAgent: "wharf/" + buildinfo.Version()})
		if err != nil {
			return nil, fmt.Errorf("server: proxy.upstreams[%d]: %w", i, err)
		}
		u, _ := url.Parse(cu.URL)
		ups = append(ups, proxy.Upstream{Prefix: cu.Prefix, Client: client, TTL: cu.TTL.Std(),
			DockerHub: dockerHubHosts[u.Hostname()]})
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
