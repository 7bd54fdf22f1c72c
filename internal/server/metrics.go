package server

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"wharf/internal/buildinfo"
	"wharf/internal/edge"
	"wharf/internal/events"
	"wharf/internal/metrics"
	"wharf/internal/tracing"
)

// newMetrics builds the metrics of a server with metrics: enabled, with
// the database pool's statistics; nil (every hook a no-op) otherwise.
func (s *Server) newMetrics() {
	if !s.cfg.Metrics.Enabled {
		return
	}
	s.metrics = metrics.New(metrics.Options{})
	_ = s.metrics.Register(metrics.NewDBStats(s.meta.Stats))
}

// newTracer builds the tracer of a server with tracing: enabled.
func (s *Server) newTracer(ctx context.Context) error {
	t := s.cfg.Tracing
	if !t.Enabled {
		return nil
	}
	tr, err := tracing.New(ctx, tracing.Options{Endpoint: t.Endpoint, SampleRatio: t.SampleRatioOrDefault(),
		Version: buildinfo.Version(), Headers: t.Headers, Log: s.log})
	if err != nil {
		return err
	}
	s.tracer = tr
	return nil
}

// shutdownTracer sends the spans still queued, for at most 5 s.
func (s *Server) shutdownTracer() error {
	if s.tracer == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.tracer.Shutdown(ctx)
}

// recorder is the edge's recorder: the metrics and the tracer that are on,
// or nil (not a nil *Metrics) when neither is, so that the edge skips them
// altogether.
func (s *Server) recorder() edge.Recorder {
	var rs edge.Recorders
	if s.metrics != nil {
		rs = append(rs, s.metrics)
	}
	if s.tracer != nil {
		rs = append(rs, s.tracer)
	}
	switch len(rs) {
	case 0:
		return nil
	case 1:
		return rs[0]
	}
	return rs
}

// replicationEventSinks are the sinks of replication's own writes: every
// one but replication, so that a copy into this registry never queues a
// copy out of it (two rules would otherwise bounce an image between two
// registries under ever longer prefixes).
func (s *Server) replicationEventSinks() events.Sink {
	return events.Join(s.auditSink(), s.notifySink(), s.metricsSink())
}

// eventSinks are the sinks of the OCI API's events: the audit log, the
// notifications, the metrics and replication, each nil when off; nil when
// all are, so that the API builds no event.
func (s *Server) eventSinks() events.Sink {
	return events.Join(s.replicationEventSinks(), s.replicationSink())
}

// metricsSink is the metrics as a sink of the registry's events; nil
// without metrics.
func (s *Server) metricsSink() events.Sink {
	if s.metrics == nil {
		return nil
	}
	return s.metrics
}

// countTokens is the token server's outcome counter, or nil.
func (s *Server) countTokens() func(string) {
	if s.metrics == nil {
		return nil
	}
	return s.metrics.TokenOutcome
}

// apiFailed counts an error the OCI API answered 500, by the backend it
// came from, or nil.
func (s *Server) apiFailed() func(error) {
	if s.metrics == nil {
		return nil
	}
	return func(err error) { s.metrics.BackendError(backendOf(err)) }
}

// backendOf names the backend an error came from by the package prefixes
// every error of Wharf carries: "metadata: " for the database, "storage: "
// (or a file system error) for the blob store.
func backendOf(err error) string {
	msg := err.Error()
	var pe *fs.PathError
	switch {
	case strings.Contains(msg, "metadata: "):
		return "database"
	case strings.Contains(msg, "storage: "), errors.As(err, &pe):
		return "storage"
	}
	return "other"
}

// metricsRoute mounts /metrics on the main listener when the
// configuration puts it there: behind the admin API's guard with the
// metrics scope, or open to anyone with metrics.anonymous.
func (s *Server) metricsRoute(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	served, guarded := s.cfg.MetricsOnMain()
	if !served || s.metrics == nil {
		return
	}
	h := s.metrics.Handler()
	if guarded {
		if guard == nil { // no admin API to ask: deny by default
			return
		}
		h = guard(h)
	}
	mux.Handle("GET /metrics", h)
}

// metricsServer serves /metrics alone on metrics.addr, without
// authentication.
func (s *Server) metricsServer(ctx context.Context) (addr string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	return s.sideServer(ctx, sideListener{key: "metrics.addr", addr: s.cfg.Metrics.Addr, what: "metrics",
		path: "/metrics", warn: "metrics.addr is not a loopback address: anyone who reaches it can read the metrics; keep it on 127.0.0.1 or a private network"}, mux)
}

// sideListeners starts debug_addr's and metrics.addr's servers; stop
// closes both.
func (s *Server) sideListeners(ctx context.Context) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, f := range stops {
			f()
		}
	}
	if s.cfg.DebugAddr != "" {
		_, f, err := s.debugServer(ctx)
		if err != nil {
			return stop, err
		}
		stops = append(stops, f)
	}
	if s.metrics != nil && s.cfg.Metrics.Addr != "" {
		_, f, err := s.metricsServer(ctx)
		if err != nil {
			return stop, err
		}
		stops = append(stops, f)
	}
	return stop, nil
}
