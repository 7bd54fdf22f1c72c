// Package tracing owns Wharf's OpenTelemetry traces: a tracer provider
// exporting over OTLP/HTTP to the collector tracing: names, with a batch
// processor, and one server span per request, begun and ended through the
// edge's Recorder hook (so that edge does not import OpenTelemetry), named
// by method and route family, carrying the request id.
//
// Traces are off by default. Spans start a new trace at Wharf: a
// traceparent sent by a client is not followed, so that no client chooses
// the trace id or the sampling of another's request.
//
// It imports OpenTelemetry, edge (the request id and the Recorder
// contract), metrics (the route families) and the standard library.
package tracing
