package ociapi

import (
	"net/http"
	"sync"
	"time"

	"wharf/internal/edge"
	"wharf/internal/events"
)

// recording reports whether completed operations are recorded: without a
// sink the handlers build no event at all.
func (h *Handler) recording() bool { return h.opts.Events != nil }

// eventPool holds the Events handed to the sink: a sink keeps no pointer to
// one after Record returns (events.Sink), so each is reused rather than
// allocated on every pull.
var eventPool = sync.Pool{New: func() any { return new(events.Event) }}

// record completes e with the repository, the granted account and the
// request's origin, and hands it to the sink. Call it once the operation has
// succeeded, whatever the client does with the answer afterwards.
func (h *Handler) record(r *http.Request, rt route, e events.Event) {
	if h.opts.Events == nil {
		return
	}
	pub := edge.PublicOf(r)
	e.Time = time.Now()
	e.Repository = rt.Name
	e.Actor = rt.Account
	e.Addr = pub.Client
	e.Host = pub.Host
	e.RequestID = edge.RequestID(r.Context())
	// The map directly: Header.Get would canonicalize the key on every call.
	if ua := r.Header["User-Agent"]; len(ua) > 0 {
		e.UserAgent = ua[0]
	}
	p := eventPool.Get().(*events.Event)
	*p = e
	h.opts.Events.Record(p)
	*p = events.Event{} // let the strings go
	eventPool.Put(p)
}
