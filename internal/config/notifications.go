package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"wharf/internal/auth"
)

// Notifications configures webhooks in distribution's schema
// (notifications: in its config.yml), so that one block works in both; the
// keys marked "wharf" are additions.
type Notifications struct {
	// Events tunes what every event carries.
	Events NotificationEvents `yaml:"events"`
	// Endpoints receive the events.
	Endpoints []Endpoint `yaml:"endpoints"`
}

// NotificationEvents is distribution's notifications.events.
type NotificationEvents struct {
	// IncludeReferences lists a manifest's references (config and
	// layers, or an index's manifests) in its push and pull events.
	IncludeReferences bool `yaml:"includereferences"`
}

// Endpoint is one webhook receiver.
type Endpoint struct {
	// Name identifies the endpoint in logs, metrics and its queue; it must
	// be unique.
	Name string `yaml:"name"`
	// Disabled keeps the endpoint configured but sends it nothing, and
	// queues nothing for it.
	Disabled bool `yaml:"disabled"`
	// URL receives the events by POST (http or https).
	URL string `yaml:"url"`
	// Headers are added to every request (authorization, for example).
	Headers map[string][]string `yaml:"headers"`
	// Timeout bounds one delivery (default 1s, as distribution).
	Timeout Duration `yaml:"timeout"`
	// Threshold is how many failures in a row are retried at once before
	// the sender backs off (default 10, as distribution).
	Threshold int `yaml:"threshold"`
	// Backoff is the first wait after threshold failures; it doubles with
	// every further failure, up to MaxBackoff (default 1s, as distribution).
	Backoff Duration `yaml:"backoff"`
	// IgnoredMediaTypes is distribution's older spelling of
	// Ignore.MediaTypes; both apply.
	IgnoredMediaTypes []string `yaml:"ignoredmediatypes"`
	// Ignore filters events out by target media type or action.
	Ignore EndpointIgnore `yaml:"ignore"`

	// Repositories (wharf), when set, are the repository patterns whose
	// events this endpoint receives ("*" stops at "/", "**" does not).
	Repositories []string `yaml:"repositories"`
	// Secret (wharf) signs every body: X-Wharf-Signature: sha256=<hex
	// HMAC-SHA256 of the body>.
	Secret Secret `yaml:"secret"`
	// Backlog (wharf) bounds the events queued for the endpoint; past it
	// the oldest are dropped and counted (default 100000).
	Backlog int `yaml:"backlog"`
	// MaxEvents (wharf) is the most events one request carries in its
	// envelope (default 100, at most MaxEndpointMaxEvents; 1 sends each
	// alone).
	MaxEvents int `yaml:"maxevents"`
}

// Secret is auth.Secret (never printed), named here so that the readers of
// foreign configurations set it without importing auth.
type Secret = auth.Secret

// EndpointIgnore is distribution's notifications.endpoints[].ignore.
type EndpointIgnore struct {
	MediaTypes []string `yaml:"mediatypes"`
	Actions    []string `yaml:"actions"`
}

// Defaults of an endpoint, distribution's but for the wharf additions.
const (
	DefaultEndpointTimeout   = time.Second
	DefaultEndpointThreshold = 10
	DefaultEndpointBackoff   = time.Second
	DefaultEndpointBacklog   = 100000
	DefaultEndpointMaxEvents = 100
	// MaxEndpointMaxEvents bounds maxevents: the notifier removes a
	// delivered envelope's events in one statement (notify.MaxMaxEvents).
	MaxEndpointMaxEvents = 1000
	// MaxBackoff caps the doubling of an endpoint's backoff.
	MaxBackoff = 5 * time.Minute
)

// WithDefaults returns e with every unset value at its default.
func (e Endpoint) WithDefaults() Endpoint {
	if e.Timeout <= 0 {
		e.Timeout = Duration(DefaultEndpointTimeout)
	}
	if e.Threshold <= 0 {
		e.Threshold = DefaultEndpointThreshold
	}
	if e.Backoff <= 0 {
		e.Backoff = Duration(DefaultEndpointBackoff)
	}
	if e.Backlog <= 0 {
		e.Backlog = DefaultEndpointBacklog
	}
	if e.MaxEvents <= 0 {
		e.MaxEvents = DefaultEndpointMaxEvents
	}
	return e
}

// notificationActions are the actions an endpoint can ignore.
var notificationActions = map[string]bool{"push": true, "pull": true, "mount": true, "delete": true}

func (n Notifications) validate() []error {
	var errs []error
	seen := map[string]bool{}
	for i, e := range n.Endpoints {
		key := fmt.Sprintf("notifications.endpoints[%d]", i)
		switch {
		case e.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: required: it names the endpoint's queue, log lines and metrics", key))
		case len(e.Name) > 255:
			errs = append(errs, fmt.Errorf("%s.name: longer than 255 bytes", key))
		case seen[e.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q names two endpoints; names must be unique", key, e.Name))
		}
		seen[e.Name] = true
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s.url: %q is not an http:// or https:// URL (for example https://hooks.example.com/registry)", key, redactURL(e.URL)))
		} else if u.User != nil {
			errs = append(errs, fmt.Errorf("%s.url: credentials in the URL would be logged; put them in headers (Authorization)", key))
		}
		if e.Timeout < 0 || e.Backoff < 0 || e.Threshold < 0 || e.Backlog < 0 || e.MaxEvents < 0 {
			errs = append(errs, fmt.Errorf("%s: timeout, backoff, threshold, backlog and maxevents must not be negative", key))
		}
		if e.MaxEvents > MaxEndpointMaxEvents {
			errs = append(errs, fmt.Errorf("%s.maxevents: %d is more than %d events a request; lower it (1 sends each event alone)", key, e.MaxEvents, MaxEndpointMaxEvents))
		}
		for _, a := range e.Ignore.Actions {
			if !notificationActions[a] {
				errs = append(errs, fmt.Errorf("%s.ignore.actions: %q is not one of push, pull, mount, delete", key, a))
			}
		}
		for _, p := range e.Repositories {
			if p == "" || strings.ContainsAny(p, "[]\\") {
				errs = append(errs, fmt.Errorf("%s.repositories: %q is not a pattern such as \"team/*\" or \"prod/**\" (only *, ** and ? are special)", key, p))
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// redactURL keeps a URL's scheme and host for an error message: its path or
// query may hold a token.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		if len(s) > 40 {
			return s[:40] + "…"
		}
		return s
	}
	return u.Scheme + "://" + u.Host + "/…"
}
