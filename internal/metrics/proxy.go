package metrics

import "github.com/prometheus/client_golang/prometheus"

// ProxyStats is what the pull-through cache reports: its counts, and per
// upstream (named by its configured prefix, a bounded set) the rate limit
// the upstream last announced.
type ProxyStats struct {
	ManifestFetches, BlobFetches, Revalidations, Hits, Stale int64
	Upstreams                                                []ProxyUpstream
}

// ProxyUpstream is one upstream's last rate-limit headers; -1 when never
// seen.
type ProxyUpstream struct {
	Prefix           string
	Limit, Remaining int
}

type proxyStats struct {
	stats                                                  func() ProxyStats
	manifests, blobs, revalidations, hits, stale, lim, rem *prometheus.Desc
}

// NewProxyStats exports the pull-through cache's counts and its upstreams'
// rate limits, read from stats at each scrape.
func NewProxyStats(stats func() ProxyStats) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "proxy", name), help, labels, nil)
	}
	return &proxyStats{
		stats:         stats,
		manifests:     d("manifest_fetches_total", "Manifests fetched (GET) from upstreams."),
		blobs:         d("blob_fetches_total", "Blobs downloaded from upstreams."),
		revalidations: d("revalidations_total", "Tags older than their TTL checked upstream with a HEAD."),
		hits:          d("hits_total", "Pulls of proxy repositories answered without a download."),
		stale:         d("stale_total", "Cached manifests served because the upstream failed (stale-if-error)."),
		lim:           d("ratelimit_limit", "The upstream's last ratelimit-limit header.", "upstream"),
		rem:           d("ratelimit_remaining", "The upstream's last ratelimit-remaining header.", "upstream"),
	}
}

func (c *proxyStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.manifests, c.blobs, c.revalidations, c.hits, c.stale, c.lim, c.rem} {
		ch <- d
	}
}

func (c *proxyStats) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	k := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	k(c.manifests, s.ManifestFetches)
	k(c.blobs, s.BlobFetches)
	k(c.revalidations, s.Revalidations)
	k(c.hits, s.Hits)
	k(c.stale, s.Stale)
	for _, u := range s.Upstreams {
		if u.Limit >= 0 {
			ch <- prometheus.MustNewConstMetric(c.lim, prometheus.GaugeValue, float64(u.Limit), u.Prefix)
		}
		if u.Remaining >= 0 {
			ch <- prometheus.MustNewConstMetric(c.rem, prometheus.GaugeValue, float64(u.Remaining), u.Prefix)
		}
	}
}
