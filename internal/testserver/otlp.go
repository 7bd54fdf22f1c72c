package testserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// OTLPCollector receives traces as the OpenTelemetry Collector's OTLP/HTTP
// receiver does: POST /v1/traces with a protobuf ExportTraceServiceRequest.
// It runs in the test's process on a random loopback port and stops when
// the test ends.
type OTLPCollector struct {
	// URL is the traces endpoint, http://127.0.0.1:port/v1/traces.
	URL string

	mu    sync.Mutex
	spans []*tracepb.Span
	bad   []string
}

// StartOTLPCollector starts a collector for t.
func StartOTLPCollector(t testing.TB) *OTLPCollector {
	t.Helper()
	c := &OTLPCollector{}
	srv := httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(srv.Close)
	c.URL = srv.URL + "/v1/traces"
	return c
}

func (c *OTLPCollector) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	c.mu.Lock()
	defer c.mu.Unlock()
	var req coltrace.ExportTraceServiceRequest
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf":
		c.bad = append(c.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
	case err != nil:
		c.bad = append(c.bad, err.Error())
	default:
		if err := proto.Unmarshal(body, &req); err != nil {
			c.bad = append(c.bad, err.Error())
			break
		}
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				c.spans = append(c.spans, ss.GetSpans()...)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// Spans returns the spans received so far, and the exports that were not
// well-formed OTLP/HTTP (method, path, content type or protobuf).
func (c *OTLPCollector) Spans() (spans []*tracepb.Span, malformed []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tracepb.Span(nil), c.spans...), append([]string(nil), c.bad...)
}

// SpanAttrs is a span's string and integer attributes as strings.
func SpanAttrs(s *tracepb.Span) map[string]string {
	m := map[string]string{}
	for _, kv := range s.GetAttributes() {
		v := kv.GetValue()
		if _, ok := v.GetValue().(*commonpb.AnyValue_IntValue); ok {
			m[kv.GetKey()] = strconv.FormatInt(v.GetIntValue(), 10)
			continue
		}
		m[kv.GetKey()] = v.GetStringValue()
	}
	return m
}
