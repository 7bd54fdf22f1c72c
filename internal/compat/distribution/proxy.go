package distribution

import "wharf/internal/config"

// proxy maps distribution's proxy: (a pull-through cache of one registry)
// onto one wharf upstream without a prefix: every name is looked up there,
// as registry:2 in proxy mode does, and pushes are refused as there. A
// wharf.yml can give the upstream a prefix instead, which keeps every other
// repository pushable (docs/proxy.md).
func (tr *translation) proxy(c *config.Config) {
	remote := tr.t.str("proxy", "remoteurl")
	if remote == "" {
		return
	}
	ttl, err := nanoDuration(tr.t.str("proxy", "ttl"))
	if err != nil {
		tr.errorf([]string{"proxy", "ttl"}, "proxy.ttl: %v", err)
	}
	c.Proxy.Upstreams = append(c.Proxy.Upstreams, config.Upstream{
		Mirror:   true,
		URL:      remote,
		Username: tr.t.str("proxy", "username"),
		Password: config.Secret(tr.t.str("proxy", "password")),
		TTL:      config.Duration(ttl),
	})
}
