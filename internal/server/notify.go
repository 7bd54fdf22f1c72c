package server

import (
	"slices"

	"wharf/internal/config"
	"wharf/internal/events"
	"wharf/internal/notify"
)

// newNotifier translates notifications: for the webhook sender; nil when
// no endpoint is enabled.
func (s *Server) newNotifier() (*notify.Notifier, error) {
	n := s.cfg.Notifications
	var eps []notify.Endpoint
	for _, e := range n.Endpoints {
		if e.Disabled {
			s.log.Info("notification endpoint disabled", "endpoint", e.Name)
			continue
		}
		e = e.WithDefaults()
		eps = append(eps, notify.Endpoint{
			Name: e.Name, URL: e.URL, Headers: e.Headers,
			Timeout: e.Timeout.Std(), Threshold: e.Threshold, Backoff: e.Backoff.Std(),
			IgnoredMediaTypes: slices.Clone(e.IgnoredMediaTypes), IgnoreMediaTypes: slices.Clone(e.Ignore.MediaTypes),
			IgnoreActions: slices.Clone(e.Ignore.Actions), Repositories: slices.Clone(e.Repositories),
			Secret: []byte(e.Secret), Backlog: e.Backlog, MaxEvents: e.MaxEvents,
		})
	}
	if len(eps) == 0 {
		return nil, nil
	}
	scheme := "https"
	if s.cfg.TLS == "off" {
		scheme = "http"
	}
	addr := queueOwner(s.cfg.Addr)
	return notify.New(s.meta, s.log, notify.Options{
		Endpoints: eps, Scheme: scheme, SourceAddr: addr, MaxBackoff: config.MaxBackoff,
		IncludeReferences: n.Events.IncludeReferences,
		// Replicas differ by host (and port): a restart, kill -9
		// included, takes its endpoints back at once.
		Owner: addr,
	})
}

// notifySink is the notifier as a sink of the OCI API's events; nil
// without endpoints.
func (s *Server) notifySink() events.Sink {
	if s.notify == nil {
		return nil
	}
	return s.notify
}
