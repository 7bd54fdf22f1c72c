package tracing

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"wharf/internal/edge"
	"wharf/internal/metrics"
	"wharf/internal/testserver"
)

// TestSpansReachACollector sends requests through the edge with a Tracer,
// shuts it down (which flushes), and reads what a real OTLP/HTTP receiver
// got: one server span per request, named by method and family, with the
// request id of the answer's X-Request-Id, the status and an error status
// for a 5xx; the handler's context carries the span.
func TestSpansReachACollector(t *testing.T) {
	t.Parallel()
	c := testserver.StartOTLPCollector(t)
	tr, err := New(t.Context(), Options{Endpoint: c.URL, SampleRatio: 1, Version: "v0.test"})
	if err != nil {
		t.Fatal(err)
	}
	var inHandler []string
	h := edge.ObserveRecorded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inHandler = append(inHandler, spanID(r.Context()))
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}), slog.New(slog.DiscardHandler), false, edge.Recorders{metrics.New(metrics.Options{}), tr})
	ids := map[string]string{}
	for _, rq := range []struct{ method, path string }{{"GET", "/v2/a/manifests/latest"}, {"PUT", "/v2/a/blobs/uploads/u"}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(rq.method, rq.path, nil))
		ids[rq.method] = rec.Header().Get(edge.RequestIDHeader)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans, bad := c.Spans()
	if len(bad) > 0 {
		t.Fatalf("the collector got malformed exports: %v", bad)
	}
	if len(spans) != 2 {
		t.Fatalf("%d spans; want 2", len(spans))
	}
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		byName[s.GetName()] = s
		if s.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
			t.Errorf("span %q is of kind %v", s.GetName(), s.GetKind())
		}
		if len(s.GetParentSpanId()) != 0 {
			t.Errorf("span %q has a parent", s.GetName())
		}
	}
	get, put := byName["GET manifest"], byName["PUT upload"]
	if get == nil || put == nil {
		t.Fatalf("span names %v; want GET manifest and PUT upload", byName)
	}
	if a := testserver.SpanAttrs(get); a["wharf.request_id"] != ids["GET"] || a["wharf.route_family"] != "manifest" || a["url.path"] != "/v2/a/manifests/latest" {
		t.Errorf("GET span attributes %v; want request id %s", a, ids["GET"])
	}
	if a := testserver.SpanAttrs(put); a["wharf.request_id"] != ids["PUT"] || a["http.response.status_code"] != "500" {
		t.Errorf("PUT span attributes %v; want request id %s", a, ids["PUT"])
	}
	if put.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR || get.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("statuses: GET %v, PUT %v; want the 500 an error", get.GetStatus(), put.GetStatus())
	}
	for i, id := range inHandler {
		if id == "" {
			t.Errorf("request %d: no span in the handler's context", i)
		}
	}
}

func TestNilTracer(t *testing.T) {
	t.Parallel()
	var tr *Tracer
	r := httptest.NewRequest("GET", "/v2/", nil)
	if ctx := tr.Begin(r); ctx != r.Context() {
		t.Error("a nil Tracer changed the context")
	}
	tr.End(r, 200, 0, 0, 0)
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
}
