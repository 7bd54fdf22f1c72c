// Package metrics owns what Wharf tells Prometheus: a registry of its own
// (never the process-global one, so that tests and two servers in one
// process do not share series), the Go runtime and process collectors,
// build information, and the series of the request path, the token
// server, the content events, the database pool and garbage collection.
//
// Label values are bounded by construction: a request's path becomes one
// of a fixed list of route families, its method one of the HTTP methods a
// registry serves (else "other"), its status a class ("2xx"); a token
// outcome, an event's action and kind, a backend's name come from
// constant lists. No repository, account or address is ever a label:
// those belong in the access and audit logs.
//
// Other packages feed it through small interfaces they own or that it
// defines (edge.Recorder, events.Sink, tokenserver.Recorder, GC,
// BackendErrors), so that nothing under the request path imports it; the
// composition root (server) joins them. A package that wants to export a
// series of its own registers a prometheus.Collector with Register.
//
// It imports client_golang, events, edge's Recorder contract and the
// standard library; never server, an API package, registry or storage.
package metrics
