package metrics

import (
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wharf/internal/buildinfo"
)

// Namespace prefixes every series of Wharf's own.
const Namespace = "wharf"

// Options tunes New.
type Options struct {
	// Version is the build's version for wharf_build_info (default:
	// buildinfo's, what `wharf version` prints).
	Version string
}

// Metrics holds Wharf's registry of series and the instruments that the
// request path, the token server, the events and GC feed. A nil *Metrics
// is valid: every method then does nothing, so that a server with metrics
// off pays one nil check.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	bytesIn     *prometheus.CounterVec
	bytesOut    *prometheus.CounterVec
	inflight    *prometheus.GaugeVec
	rateLimited *prometheus.CounterVec

	tokens     *prometheus.CounterVec
	events     *prometheus.CounterVec
	eventBytes *prometheus.CounterVec
	redirected *prometheus.CounterVec
	backend    *prometheus.CounterVec

	gcRuns         *prometheus.CounterVec
	gcUploadPasses *prometheus.CounterVec
	gcFreed        *prometheus.CounterVec
	gcDuration     prometheus.Histogram
	gcLastSuccess  prometheus.Gauge
}

// durationBuckets spans a cached manifest HEAD (a millisecond) to a
// multi-gigabyte layer (minutes).
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// New returns a registry with the Go runtime and process collectors,
// wharf_build_info and every series of Wharf's own.
func New(opts Options) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{reg}
	m := &Metrics{reg: reg}

	f.buildInfo(opts.Version)

	m.requests = f.counterVec("http_requests_total",
		"HTTP requests answered, by route family, method and status class.", "family", "method", "status")
	m.duration = f.histogramVec("http_request_duration_seconds",
		"Time from a request's arrival to its handler's return (the whole body sent), by route family and method.",
		durationBuckets, "family", "method")
	m.bytesIn = f.counterVec("http_request_body_bytes_total",
		"Bytes of request bodies read (blobs and manifests pushed, token forms), by route family.", "family")
	m.bytesOut = f.counterVec("http_response_body_bytes_total",
		"Bytes of response bodies written (blobs and manifests pulled), by route family.", "family")
	m.inflight = f.gaugeVec("http_requests_in_flight",
		"Requests being served, by route family; family=\"upload\" is the uploads in flight.", "family")
	m.rateLimited = f.counterVec("http_rate_limited_total",
		"Requests answered 429 TOOMANYREQUESTS (login limiter, anonymous token rate, upload caps), by route family.", "family")

	m.tokens = f.counterVec("token_requests_total",
		"Token requests by outcome: issued, scope_denied (issued without some action asked), login_failed, rate_limited, busy, backend_error, invalid_request.", "outcome")
	m.events = f.counterVec("content_events_total",
		"Completed content operations (push, pull by GET, mount, delete), by action and kind (manifest or blob).", "action", "kind")
	m.eventBytes = f.counterVec("content_bytes_total",
		"Bytes of the manifests and blobs pushed, pulled or mounted, by action and kind.", "action", "kind")
	// A redirected pull writes no body: without this series the bytes
	// that S3 sent on the registry's behalf would be invisible.
	m.redirected = f.counterVec("http_response_redirected_bytes_total",
		"Bytes of blobs pulled through a redirect to the blob store (S3): the store sent them to the client, so they are not in http_response_body_bytes_total; by route family.", "family")
	m.backend = f.counterVec("backend_errors_total",
		"Requests that failed on a backend (storage: the blob store; database: the metadata database; other), answered 500.", "backend")

	m.gcRuns = f.counterVec("gc_runs_total", "Garbage collections finished, by result (ok, failed).", "result")
	m.gcUploadPasses = f.counterVec("gc_upload_passes_total",
		"Passes that remove idle upload sessions alone, between collections, by result (ok, failed).", "result")
	m.gcFreed = f.counterVec("gc_freed_total",
		"What garbage collection freed: what=bytes (blob bytes), blobs, uploads.", "what")
	m.gcDuration = f.histogram("gc_duration_seconds", "How long garbage collections took.",
		[]float64{.1, .5, 1, 5, 10, 30, 60, 300, 900, 3600})
	m.gcLastSuccess = f.gauge("gc_last_success_timestamp_seconds", "When the last successful garbage collection ended (Unix time).")
	// The series a dashboard divides by exist from the start, at 0.
	m.gcRuns.WithLabelValues("ok")
	m.gcRuns.WithLabelValues("failed")
	m.gcUploadPasses.WithLabelValues("ok")
	m.gcUploadPasses.WithLabelValues("failed")
	m.redirected.WithLabelValues(FamilyBlob)
	for _, o := range tokenOutcomes {
		m.tokens.WithLabelValues(o)
	}
	return m
}

// Registerer is where another package adds collectors of its own (a
// backlog gauge, a quota usage): their series appear on /metrics with
// Wharf's. Names must start with "wharf_". Nil for a nil *Metrics.
func (m *Metrics) Registerer() prometheus.Registerer {
	if m == nil {
		return nil
	}
	return m.reg
}

// Register adds c to the registry; a nil *Metrics ignores it.
func (m *Metrics) Register(c prometheus.Collector) error {
	if m == nil {
		return nil
	}
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("metrics: register: %w", err)
	}
	return nil
}

// Gatherer is what a scrape reads (the tests parse it).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the registry in Prometheus's text (or OpenMetrics, when
// asked) format. Its own errors go to the answer, never panic.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		// A slow scraper cannot hold gathering goroutines for long.
		Timeout:             10 * time.Second,
		MaxRequestsInFlight: 4,
	})
}

// BackendError counts a request that failed on backend ("storage",
// "database"; anything else counts as "other").
func (m *Metrics) BackendError(backend string) {
	if m == nil {
		return
	}
	switch backend {
	case "storage", "database":
	default:
		backend = "other"
	}
	m.backend.WithLabelValues(backend).Inc()
}

// factory registers each instrument it makes in reg, under Namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

// buildInfo registers wharf_build_info{version, goversion} 1.
func (f factory) buildInfo(version string) {
	if version == "" {
		version = buildinfo.Version()
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "build_info",
		Help:        "Always 1: the running build's version and Go version as labels.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()}})
	g.Set(1)
	f.reg.MustRegister(g)
}
