// Package server is the composition root: it is the only place that picks
// backends by name, wires storage, metadata, registry and ociapi together,
// and owns the http.Server (with edge's request id, access log, panic
// recovery and request_id on log lines in front) and the /healthz and
// /readyz endpoints.
package server
