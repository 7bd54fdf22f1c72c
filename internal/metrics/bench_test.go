package metrics_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"wharf/internal/edge"
	"wharf/internal/metrics"
)

// BenchmarkObserve is edge's benchmark of the observe path (request id,
// access line to io.Discard) with metrics off (no recorder) and on: what
// the metrics add to every request.
//
//	go test -run '^$' -bench Observe -benchmem ./internal/metrics/
func BenchmarkObserve(b *testing.B) {
	log := slog.New(edge.NewLogHandler(slog.NewJSONHandler(io.Discard, nil)))
	for _, bc := range []struct {
		name string
		rec  edge.Recorder
	}{
		{"metrics off", nil},
		{"metrics on", metrics.New(metrics.Options{})},
	} {
		for _, path := range []string{"/v2/", "/v2/library/alpine/manifests/latest"} {
			b.Run(bc.name+" "+path, func(b *testing.B) {
				h := edge.ObserveRecorded(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }), log, true, bc.rec)
				r := httptest.NewRequest(http.MethodGet, path, nil)
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(httptest.NewRecorder(), r)
				}
			})
		}
	}
}

// BenchmarkBeginEnd is what the metrics alone cost a request: its family,
// in flight, count, latency and bytes.
func BenchmarkBeginEnd(b *testing.B) {
	m := metrics.New(metrics.Options{})
	r := httptest.NewRequest(http.MethodGet, "/v2/library/alpine/manifests/latest", nil)
	b.ReportAllocs()
	for b.Loop() {
		m.Begin(r)
		m.End(r, http.StatusOK, 0, 1024, time.Millisecond)
	}
}
