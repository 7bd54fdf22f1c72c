package metrics

import "wharf/internal/events"

// Record implements events.Sink: one completed push, pull, mount or
// delete, counted by action and kind, with its bytes. It only increments
// counters, so it never blocks the request.
func (m *Metrics) Record(e *events.Event) {
	if m == nil {
		return
	}
	kind := "blob"
	if e.Manifest() {
		kind = "manifest"
	}
	action := string(e.Action)
	switch e.Action {
	case events.Push, events.Pull, events.Mount, events.Delete:
	default:
		action = "other"
	}
	m.events.WithLabelValues(action, kind).Inc()
	if e.Size > 0 {
		m.eventBytes.WithLabelValues(action, kind).Add(float64(e.Size))
		if e.Redirected && e.Action == events.Pull {
			m.redirected.WithLabelValues(FamilyBlob).Add(float64(e.Size))
		}
	}
}
