// Package notify sends the registry's events to webhooks in distribution's
// notification envelope, so that receivers written for distribution keep
// working: it is an events.Sink that renders each event for every endpoint
// whose filters let it through, queues it in the metadata database, and
// delivers each endpoint's queue in order, up to MaxEvents events an
// envelope, signed, with retries and backoff (a failed envelope is sent
// again as it was), from whichever replica holds the endpoint's lease.
//
// Record never blocks: events wait in a bounded buffer that is written to
// the database in one transaction every FlushInterval (a crash loses at
// most that buffer; a shutdown flushes it). Past an endpoint's backlog the
// oldest events are dropped and counted.
//
// It imports events, metadata and the standard library (and uuid and the
// OCI descriptor type), never config: the composition root translates
// notifications: into Options.
package notify
