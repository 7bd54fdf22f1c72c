package config

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"
)

// Replication copies repositories to and from other registries
// (docs/replication.md).
type Replication struct {
	Rules []ReplicationRule `yaml:"rules"`
}

// ReplicationRule copies the repositories matching Repositories between
// this registry and the one at URL.
type ReplicationRule struct {
	// Name identifies the rule in status, logs and wharf replication run.
	Name string `yaml:"name"`
	// Direction is push (this registry's repositories to URL) or pull
	// (URL's repositories to this registry).
	Direction string `yaml:"direction"`
	// URL is the other registry's base URL.
	URL string `yaml:"url"`
	// Repositories are the patterns of the repositories copied, on the
	// source's side: * and ? within one path segment, ** across segments.
	Repositories []string `yaml:"repositories"`
	// Tags, when set, are the patterns of the tags copied (default all).
	Tags []string `yaml:"tags"`
	// Prefix is put before a repository's name on the destination:
	// team/app is pushed as PREFIX/team/app.
	Prefix string `yaml:"prefix"`
	// Username and PasswordFile are the other registry's credentials.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// CAFile and InsecureSkipVerify as for proxy.upstreams.
	CAFile             string `yaml:"ca_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// OnPush copies a pushed manifest as soon as it is pushed (push rules).
	OnPush *bool `yaml:"on_push"`
	// Schedule, when set, runs the whole rule every so often: a pull rule
	// lists the other registry's repositories and tags and copies what is
	// new, a push rule catches up what on-push copies missed.
	Schedule Duration `yaml:"schedule"`
}

// Directions of a rule.
const (
	ReplicatePush = "push"
	ReplicatePull = "pull"
)

// MinReplicationSchedule keeps a scheduled rule from listing a registry,
// and spending its rate limit, more than once a minute.
const MinReplicationSchedule = time.Minute

// WithDefaults returns r with every unset value at its default: push
// rules copy on push.
func (r ReplicationRule) WithDefaults() ReplicationRule {
	if r.OnPush == nil {
		on := r.Direction == ReplicatePush
		r.OnPush = &on
	}
	r.Prefix = strings.Trim(r.Prefix, "/")
	return r
}

func (r Replication) validate() []error { return r.validateRules() }

// validateRules checks every rule and reports every problem.
func (r Replication) validateRules() []error {
	var errs []error
	seen := map[string]bool{}
	for i, rule := range r.Rules {
		key := fmt.Sprintf("replication.rules[%d]", i)
		switch {
		case rule.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: required (wharf replication run NAME runs the rule)", key))
		case !validNameComponent(rule.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q is not a rule name (lowercase letters, digits and . _ -)", key, rule.Name))
		case seen[rule.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q names two rules", key, rule.Name))
		}
		seen[rule.Name] = true
		if rule.Direction != ReplicatePush && rule.Direction != ReplicatePull {
			errs = append(errs, fmt.Errorf("%s.direction: %q is not push (copy this registry's repositories to url) or pull (copy url's here)", key, rule.Direction))
		}
		if pu, err := url.Parse(rule.URL); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("%s.url: %q is not an http:// or https:// URL (for example https://registry.example.com)", key, redactURL(rule.URL)))
		} else if pu.User != nil {
			errs = append(errs, fmt.Errorf("%s.url: credentials in the URL would be logged; use username and password_file", key))
		} else if strings.Trim(pu.Path, "/") != "" {
			errs = append(errs, fmt.Errorf("%s.url: %q has a path; give the registry's base URL and put the path in prefix", key, redactURL(rule.URL)))
		}
		if len(rule.Repositories) == 0 {
			errs = append(errs, fmt.Errorf("%s.repositories: required, for example [\"team/*\"] or [\"**\"] for every repository", key))
		}
		for _, p := range append(append([]string(nil), rule.Repositories...), rule.Tags...) {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				errs = append(errs, fmt.Errorf("%s: %q is not a pattern such as \"team/*\", \"prod/**\" or \"v*\"", key, p))
			}
		}
		if prefix := strings.Trim(rule.Prefix, "/"); prefix != "" {
			for _, c := range strings.Split(prefix, "/") {
				if !validNameComponent(c) {
					errs = append(errs, fmt.Errorf("%s.prefix: %q is not a repository name prefix", key, rule.Prefix))
					break
				}
			}
		}
		if rule.PasswordFile != "" && rule.Username == "" {
			errs = append(errs, fmt.Errorf("%s.username: required with password_file", key))
		}
		if rule.Schedule < 0 || (rule.Schedule > 0 && rule.Schedule.Std() < MinReplicationSchedule) {
			errs = append(errs, fmt.Errorf("%s.schedule: %s is less than %s", key, rule.Schedule.Std(), MinReplicationSchedule))
		}
		if rule.Direction == ReplicatePull && rule.OnPush != nil && *rule.OnPush {
			errs = append(errs, fmt.Errorf("%s.on_push: a pull rule copies from %s, which tells Wharf nothing of its pushes; set schedule instead", key, redactURL(rule.URL)))
		}
		if rule.Direction == ReplicatePull && rule.Schedule == 0 {
			errs = append(errs, fmt.Errorf("%s.schedule: a pull rule needs one (for example 15m); wharf replication run %s runs it by hand", key, rule.Name))
		}
	}
	return errs
}
