package tracing

import (
	"compress/gzip"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestExporterHonoursOTLPVariables: the standard variables give the
// exporter a private CA (the collector's HTTPS certificate is trusted only
// through it), gzip and headers, wharf.yml's headers winning; what reaches
// the collector decodes as the official ExportTraceServiceRequest, with
// parent, kind, attributes of every type, events and status.
func TestExporterHonoursOTLPVariables(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []*tracepb.Span
		hdr http.Header
		bad []string
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hdr = r.Header.Clone()
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				bad = append(bad, err.Error())
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var req coltrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			bad = append(bad, err.Error())
			return
		}
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				got = append(got, ss.GetSpans()...)
			}
		}
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": ca,
		"OTEL_EXPORTER_OTLP_COMPRESSION":        "gzip",
		"OTEL_EXPORTER_OTLP_HEADERS":            "x-tenant=acme%20corp,authorization=from-env",
	}
	tr, err := New(t.Context(), Options{Endpoint: srv.URL + "/v1/traces", SampleRatio: 1,
		Headers: map[string]string{"authorization": "from-wharf-yml"}, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tr.tracer.Start(context.Background(), "parent", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tr.tracer.Start(ctx, "child", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.Bool("b", true), attribute.Int64("i", 7), attribute.Float64("f", 1.5),
		attribute.StringSlice("ss", []string{"x", "y"})))
	child.AddEvent("retry", trace.WithAttributes(attribute.String("why", "busy")))
	child.SetStatus(codes.Error, "boom")
	child.End()
	parent.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 || len(got) != 2 {
		t.Fatalf("collector got %d spans, problems %v; want 2", len(got), bad)
	}
	if hdr.Get("Authorization") != "from-wharf-yml" || hdr.Get("X-Tenant") != "acme corp" || hdr.Get("Content-Type") != "application/x-protobuf" {
		t.Errorf("headers %v", hdr)
	}
	by := map[string]*tracepb.Span{}
	for _, s := range got {
		by[s.GetName()] = s
	}
	p, c := by["parent"], by["child"]
	if p == nil || c == nil {
		t.Fatalf("spans %v", by)
	}
	if string(c.GetParentSpanId()) != string(p.GetSpanId()) || string(c.GetTraceId()) != string(p.GetTraceId()) || len(p.GetParentSpanId()) != 0 {
		t.Errorf("child's parent %x, trace %x; parent's id %x, trace %x", c.GetParentSpanId(), c.GetTraceId(), p.GetSpanId(), p.GetTraceId())
	}
	if p.GetKind() != tracepb.Span_SPAN_KIND_SERVER || c.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("kinds %v, %v", p.GetKind(), c.GetKind())
	}
	if c.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR || c.GetStatus().GetMessage() != "boom" || p.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("statuses %v, %v", c.GetStatus(), p.GetStatus())
	}
	var attrs []string
	for _, kv := range c.GetAttributes() {
		attrs = append(attrs, kv.GetKey()+"="+strings.TrimSpace(kv.GetValue().String()))
	}
	for _, want := range []string{"b=bool_value:true", "i=int_value:7", "f=double_value:1.5", `ss=array_value:{values:{string_value:"x"}`} {
		if !strings.Contains(strings.Join(attrs, " "), want) {
			t.Errorf("attributes %v lack %s", attrs, want)
		}
	}
	if len(c.GetEvents()) != 1 || c.GetEvents()[0].GetName() != "retry" || c.GetStartTimeUnixNano() == 0 || c.GetEndTimeUnixNano() < c.GetStartTimeUnixNano() {
		t.Errorf("events %v, times %d..%d", c.GetEvents(), c.GetStartTimeUnixNano(), c.GetEndTimeUnixNano())
	}
}

// TestOTLPVariableErrors: a bad variable stops New with a message naming
// it, and never quotes a header value.
func TestOTLPVariableErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"compression", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "zstd"}, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=\"zstd\": use gzip or none"},
		{"timeout", map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, "OTEL_EXPORTER_OTLP_TIMEOUT=\"soon\" is not a positive number of milliseconds"},
		{"headers", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "secret-token-without-key"}, "OTEL_EXPORTER_OTLP_HEADERS is not a list of key=value pairs"},
		{"certificate", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": "/nonexistent/ca.pem"}, "OTEL_EXPORTER_OTLP_CERTIFICATE: open /nonexistent/ca.pem"},
		{"client pair", map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/c.pem"}, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY go together"},
	} {
		_, err := New(t.Context(), Options{Endpoint: "http://127.0.0.1:1/v1/traces", Getenv: func(k string) string { return tc.env[k] }})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s: the error quotes a header value: %v", tc.name, err)
		}
	}
}
