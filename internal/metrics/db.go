package metrics

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

// dbStats exports a database pool's sql.DBStats, read at each scrape.
type dbStats struct {
	stats func() sql.DBStats

	maxOpen, open, inUse, idle            *prometheus.Desc
	waitCount, waitSeconds                *prometheus.Desc
	closedIdle, closedIdleTime, closedAge *prometheus.Desc
}

// NewDBStats returns a collector of stats (the metadata store's pool):
// wharf_db_* series. Register it with Register.
func NewDBStats(stats func() sql.DBStats) prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "db", name), help, nil, nil)
	}
	return &dbStats{
		stats:          stats,
		maxOpen:        d("max_open_connections", "The pool's bound on open connections."),
		open:           d("open_connections", "Connections open, in use and idle."),
		inUse:          d("in_use_connections", "Connections in use."),
		idle:           d("idle_connections", "Idle connections."),
		waitCount:      d("wait_total", "Times a query waited for a connection."),
		waitSeconds:    d("wait_seconds_total", "Time queries waited for a connection."),
		closedIdle:     d("closed_max_idle_total", "Connections closed for the bound on idle connections."),
		closedIdleTime: d("closed_max_idle_time_total", "Connections closed for being idle too long."),
		closedAge:      d("closed_max_lifetime_total", "Connections closed for their age."),
	}
}

func (c *dbStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waitCount, c.waitSeconds,
		c.closedIdle, c.closedIdleTime, c.closedAge} {
		ch <- d
	}
}

func (c *dbStats) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	k := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.maxOpen, float64(s.MaxOpenConnections))
	g(c.open, float64(s.OpenConnections))
	g(c.inUse, float64(s.InUse))
	g(c.idle, float64(s.Idle))
	k(c.waitCount, float64(s.WaitCount))
	k(c.waitSeconds, s.WaitDuration.Seconds())
	k(c.closedIdle, float64(s.MaxIdleClosed))
	k(c.closedIdleTime, float64(s.MaxIdleTimeClosed))
	k(c.closedAge, float64(s.MaxLifetimeClosed))
}
