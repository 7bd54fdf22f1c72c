// Package events owns the record of what happened to the registry's content:
// a manifest or blob pushed, pulled, mounted or deleted, by which account,
// from which address, in which request. The OCI API records one Event per
// completed operation into a Sink; the audit log, the notifications and the
// metrics are sinks, and Bus hands each event to all of them.
//
// Recording happens on the request's goroutine, after the answer is decided:
// a sink must not block and must not do I/O (queue, then write elsewhere).
// With no sink configured the API builds no event at all.
//
// It imports go-digest and the standard library only.
package events
