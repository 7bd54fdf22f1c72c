// Package spans starts the child spans of a request's trace: a database
// transaction, a blob store operation. A child is started only when the
// context already carries a recording span (tracing is on and the request
// sampled), through that span's own tracer provider; otherwise Start costs
// one context lookup and allocates nothing, so the metadata store and the
// storage drivers call it unconditionally.
//
// It imports only OpenTelemetry's trace API (no SDK, no exporter): the
// packages that call it must not depend on how traces are sent, which is
// internal/tracing's business.
package spans
