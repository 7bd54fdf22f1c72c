package ociapi

import (
	"net/http"
	"time"

	"wharf/internal/edge"
	"wharf/internal/events"
)

// recording reports whether completed operations are recorded: without a
// sink the handlers build no event at all.
func (h *Handler) recording() bool { return h.opts.Events != nil }

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
	if pub.Client.IsValid() {
		e.Addr = pub.Client.String()
	}
	e.Host = pub.Host
	e.RequestID = edge.RequestID(r.Context())
	e.UserAgent = r.UserAgent()
	h.opts.Events.Record(&e)
}
