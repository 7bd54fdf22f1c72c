package dockerauth

import (
	"gopkg.in/yaml.v3"

	"wharf/internal/config"
	"wharf/internal/yamlnode"
)

// extSections are docker_auth's external-program sections, translated to
// wharf's ext_auth and ext_authz.
var extSections = []string{"ext_auth", "ext_authz"}

// extKeys are docker_auth's keys of both sections (command, args) and
// wharf's additions (timeout, env), which docker_auth ignores, so a file
// using them still works with it.
var extKeys = []string{"command", "args", "timeout", "env"}

// ext translates ext_auth and ext_authz.
func (l *loader) ext(top *section, c *config.Config) {
	if p, ok := l.program(top, "ext_auth"); ok {
		c.ExtAuth = &p
	}
	if p, ok := l.program(top, "ext_authz"); ok {
		z := config.ExtAuthz(p)
		c.ExtAuthz = &z
	}
}

// program reads one external-program section; ok is false when it is
// absent or empty.
func (l *loader) program(top *section, name string) (config.ExtAuth, bool) {
	if yamlnode.IsNull(yamlnode.Resolve(top.vals[name])) {
		return config.ExtAuth{}, false
	}
	s := l.section(top.keys[name], top.vals[name], name, extKeys...)
	p := config.ExtAuth{Command: s.str("command")}
	if p.Command == "" {
		l.errorf(s.where("command"), "%s.command: required: the program to run (a path, or a name in PATH)", name)
	}
	p.Args = l.strings(s, "args")
	p.Env = l.strings(s, "env")
	if v := s.value("timeout"); v != nil {
		var d config.Duration
		switch err := v.Decode(&d); {
		case err != nil:
			l.errorf(v, "%s.timeout: %s is not a duration such as \"10s\" or a number of seconds", name, yamlnode.Describe(v))
		case d.Std() <= 0 || d.Std() > config.MaxExtTimeout:
			l.errorf(v, "%s.timeout: must be between 1s and %s", name, config.MaxExtTimeout)
		default:
			p.Timeout = d
		}
	}
	return p, true
}

// strings reads a list of single values at key.
func (l *loader) strings(s *section, key string) []string {
	v := s.value(key)
	if v == nil {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		l.errorf(v, "%s: must be a list, not %s", s.full(key), yamlnode.Describe(v))
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		if e = yamlnode.Resolve(e); e.Kind != yaml.ScalarNode || yamlnode.IsNull(e) {
			l.errorf(e, "%s: every entry must be a single value, not %s", s.full(key), yamlnode.Describe(e))
			continue
		}
		out = append(out, e.Value)
	}
	return out
}

// hasExt reports whether section name (ext_auth or ext_authz) is set, so
// that users or acl may be left out as docker_auth allows.
func hasExt(top *section, name string) bool {
	return !yamlnode.IsNull(yamlnode.Resolve(top.vals[name]))
}
