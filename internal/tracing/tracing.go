package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"wharf/internal/edge"
	"wharf/internal/metrics"
)

// Options configures New.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP traces URL, for example
	// http://127.0.0.1:4318/v1/traces (http: sends in clear).
	Endpoint string
	// SampleRatio is the share of requests traced, 0 to 1.
	SampleRatio float64
	// ServiceName and Version name this process in the traces.
	ServiceName, Version string
	// Headers are sent with every export (a collector's API key).
	Headers map[string]string
	Log     *slog.Logger
	// Getenv reads the OTEL_EXPORTER_OTLP_* variables (nil: os.Getenv).
	Getenv func(string) string
}

// Tracer traces requests; it implements edge.Recorder. A nil *Tracer
// traces nothing.
type Tracer struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
}

// New builds the exporter and the tracer provider. Nothing is sent until
// a request is traced; an unreachable collector costs dropped spans and a
// log line from the exporter, never a failed request.
func New(ctx context.Context, o Options) (*Tracer, error) {
	if o.Endpoint == "" {
		return nil, errors.New("tracing: an endpoint is required")
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	env, err := readOTLPEnv(getenv)
	if err != nil {
		return nil, err
	}
	exp, err := newExporter(o.Endpoint, o.Headers, env)
	if err != nil {
		return nil, err
	}
	name := o.ServiceName
	if name == "" {
		name = "wharf"
	}
	res := resource.NewSchemaless(attribute.String("service.name", name), attribute.String("service.version", o.Version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.TraceIDRatioBased(o.SampleRatio)),
	)
	if o.Log != nil {
		o.Log.Info("requests are traced", "endpoint", o.Endpoint, "sample_ratio", o.SampleRatio)
	}
	return &Tracer{tp: tp, tracer: tp.Tracer("wharf")}, nil
}

// Shutdown sends the spans still queued and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// Begin implements edge.Recorder: a server span for the request, named
// by method and route family (a bounded set, as span names should be),
// in the context the request continues with.
func (t *Tracer) Begin(r *http.Request) context.Context {
	if t == nil {
		return r.Context()
	}
	family := metrics.Family(r.URL.Path)
	ctx, _ := t.tracer.Start(r.Context(), metrics.Method(r.Method)+" "+family,
		trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.String("wharf.route_family", family),
			attribute.String("wharf.request_id", edge.RequestID(r.Context())),
		))
	return ctx
}

// End implements edge.Recorder: the span gets the status and the bytes,
// an error status for a 5xx, and ends.
func (t *Tracer) End(r *http.Request, status int, in, out int64, _ time.Duration) {
	if t == nil {
		return
	}
	span := trace.SpanFromContext(r.Context())
	if status == 0 {
		status = http.StatusOK
	}
	span.SetAttributes(
		attribute.Int("http.response.status_code", status),
		attribute.Int64("http.request.body.size", in),
		attribute.Int64("http.response.body.size", out),
	)
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// spanID is the id of ctx's span, "" without one (tests, log lines).
func spanID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.SpanID().String()
}
