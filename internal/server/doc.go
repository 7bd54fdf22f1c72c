// Package server is the composition root: lifecycle and routes. New takes
// the data directory (its lock, for `wharf serve` on SQLite), opens the
// metadata database, mounts the token endpoint, the sign-in pages and the
// admin API that authstack builds and the registry API over storage,
// metadata and registry, and puts edge's request id, access log, panic
// recovery and request_id on log lines in front; Serve listens (with
// servertls's TLS), serves /healthz and /readyz, runs the timers and
// shuts down gracefully; Close releases what New opened.
//
// It exports New, Serve and Close only: what the commands share with the
// server (the auth stack, the metadata opener, the data directory's
// layout) is in authstack and datadir, which never import it.
package server
