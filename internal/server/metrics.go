package server

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"wharf/internal/edge"
	"wharf/internal/events"
	"wharf/internal/metrics"
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

// recorder is the edge's recorder: nil, not a nil *Metrics, when metrics
// are off, so that the edge skips them altogether.
func (s *Server) recorder() edge.Recorder {
	if s.metrics == nil {
		return nil
	}
	return s.metrics
}

// eventSinks are the sinks of the OCI API's events. Other consumers (the
// audit log, the notifications) join here.
func (s *Server) eventSinks() events.Sink {
	var m events.Sink
	if s.metrics != nil {
		m = s.metrics
	}
	return events.Join(m)
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
