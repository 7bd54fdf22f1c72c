package distribution

import (
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"wharf/internal/config"
)

// endpoint is one of distribution's notifications.endpoints, with wharf's
// additions; durations are read as distribution's yaml.v2 reads them (a
// bare integer is nanoseconds).
type endpoint struct {
	Name              string              `yaml:"name"`
	Disabled          bool                `yaml:"disabled"`
	URL               string              `yaml:"url"`
	Headers           map[string][]string `yaml:"headers"`
	Timeout           string              `yaml:"timeout"`
	Threshold         int                 `yaml:"threshold"`
	Backoff           string              `yaml:"backoff"`
	IgnoredMediaTypes []string            `yaml:"ignoredmediatypes"`
	Ignore            struct {
		MediaTypes []string `yaml:"mediatypes"`
		Actions    []string `yaml:"actions"`
	} `yaml:"ignore"`
	Secret       string   `yaml:"secret"`
	Repositories []string `yaml:"repositories"`
	Backlog      int      `yaml:"backlog"`
	MaxEvents    int      `yaml:"maxevents"`
}

// notifications maps notifications: onto wharf's identical block.
func (tr *translation) notifications(c *config.Config) {
	c.Notifications.Events.IncludeReferences, _ = tr.t.boolean("notifications", "events", "includereferences")
	list := tr.t.lookup("notifications", "endpoints")
	if list == nil || list.Kind != yaml.SequenceNode {
		return
	}
	for i, n := range list.Content {
		path := []string{"notifications", "endpoints"}
		var e endpoint
		if err := n.Decode(&e); err != nil {
			tr.errorf(path, "notifications.endpoints[%d]: %v", i, err)
			continue
		}
		timeout, err := nanoDuration(e.Timeout)
		if err != nil {
			tr.errorf(path, "notifications.endpoints[%d].timeout: %v", i, err)
		}
		backoff, err := nanoDuration(e.Backoff)
		if err != nil {
			tr.errorf(path, "notifications.endpoints[%d].backoff: %v", i, err)
		}
		c.Notifications.Endpoints = append(c.Notifications.Endpoints, config.Endpoint{
			Name: e.Name, Disabled: e.Disabled, URL: e.URL, Headers: e.Headers,
			Timeout: config.Duration(timeout), Threshold: e.Threshold, Backoff: config.Duration(backoff),
			IgnoredMediaTypes: e.IgnoredMediaTypes,
			Ignore:            config.EndpointIgnore{MediaTypes: e.Ignore.MediaTypes, Actions: e.Ignore.Actions},
			Secret:            config.Secret(e.Secret), Repositories: e.Repositories, Backlog: e.Backlog,
			MaxEvents: e.MaxEvents,
		})
	}
}

// nanoDuration reads "10s", or an integer number of nanoseconds as
// distribution's yaml.v2 does; "" is zero (the default).
func nanoDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as \"1s\"", s)
	}
	return d, nil
}
