package authz

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"wharf/internal/auth"
	"wharf/internal/yamlnode"
)

// Rule is one ACL entry, docker_auth's shape:
//
//	acl:
//	  - match: {account: "/.+/", name: "${account}/*"}
//	    actions: ["*"]
//	    comment: "personal namespaces"
//
// A rule whose match matches the request decides: the requested actions that
// are also in Actions are allowed, the others denied. Actions ["*"] (exactly
// one "*") allows everything requested; an empty list is a deny rule.
type Rule struct {
	Match   Match    `yaml:"match"`
	Actions []string `yaml:"actions,flow"`
	Comment string   `yaml:"comment,omitempty"`
	// Line is where the rule starts in its YAML document (0 if it was built
	// in code); errors and Explain name it.
	Line int `yaml:"-"`
}

// Match is the condition of a rule. A nil field matches anything; a set one
// must match, so account: "" matches only the anonymous account. That is why
// the fields are pointers: absent and empty mean different things.
//
// Account, Type, Name and Service are patterns: "/re/" is a regular
// expression (docker_auth: a search, so anchor it with ^…$ to match the
// whole value), anything else a path.Match glob ("*" does not cross "/").
// They may hold placeholders: ${account}, ${type}, ${name}, ${service},
// ${labels:KEY} (matches if any value of the account's label KEY makes the
// pattern match) and ${account:N} (N-th capture group of the account regex;
// likewise type, name, service). IP is an address or a CIDR prefix. Labels
// maps a label name to a pattern that one of the account's values for it
// must match.
type Match struct {
	Account *string           `yaml:"account,omitempty"`
	Type    *string           `yaml:"type,omitempty"`
	Name    *string           `yaml:"name,omitempty"`
	Service *string           `yaml:"service,omitempty"`
	IP      *string           `yaml:"ip,omitempty"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

var (
	ruleKeys  = []string{"match", "actions", "comment"}
	matchKeys = []string{"account", "type", "name", "service", "ip", "labels", "source"}
)

// UnmarshalYAML decodes a rule strictly: unknown keys, missing match or
// actions, and values of the wrong kind are errors with their line. The
// errors are returned as a *yaml.TypeError so that a config embedding
// []Rule reports them together with its own.
func (r *Rule) UnmarshalYAML(n *yaml.Node) error {
	p := &problems{}
	if rule, ok := parseRule(p, yamlnode.Resolve(n)); ok {
		*r = rule
	}
	return p.typeError()
}

// UnmarshalYAML decodes a match clause strictly; see Rule.UnmarshalYAML.
func (m *Match) UnmarshalYAML(n *yaml.Node) error {
	p := &problems{}
	if match, ok := parseMatch(p, yamlnode.Resolve(n)); ok {
		*m = match
	}
	return p.typeError()
}

// ParseACL decodes a YAML list of rules (the value of docker_auth's acl key,
// or a whole ACL file) strictly and reports every problem at once. Each
// problem is a *ParseError. An empty document is an empty ACL (deny all).
func ParseACL(node *yaml.Node) ([]Rule, error) {
	return parseACL(&problems{}, node)
}

// LoadACLFile reads a file holding a YAML list of rules; errors name the
// file and line.
func LoadACLFile(path string) ([]Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("authz: %s: %w", path, err)
	}
	return parseACL(&problems{file: path}, &doc)
}

func parseACL(p *problems, node *yaml.Node) ([]Rule, error) {
	n := yamlnode.Resolve(node)
	if yamlnode.IsNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		p.Add(n, "the ACL must be a list of rules (- match: … actions: …), not %s", yamlnode.Describe(n))
		return nil, p.err()
	}
	rules := make([]Rule, 0, len(n.Content))
	for _, item := range n.Content {
		if r, ok := parseRule(p, yamlnode.Resolve(item)); ok {
			rules = append(rules, r)
		}
	}
	if p.Len() > 0 {
		return nil, p.err()
	}
	return rules, nil
}

func parseRule(p *problems, n *yaml.Node) (Rule, bool) {
	before := p.Len()
	pairs, ok := yamlnode.Pairs(&p.Problems, n, "rule", ruleKeys)
	if !ok {
		return Rule{}, false
	}
	r := Rule{Line: n.Line}
	var haveMatch, haveActions bool
	for _, kv := range pairs {
		switch kv.Key {
		case "match":
			haveMatch = true
			if yamlnode.IsNull(kv.Value) {
				p.Add(kv.KeyAt, "match has no value (write match: {} to match every request)")
				continue
			}
			r.Match, _ = parseMatch(p, kv.Value)
		case "actions":
			haveActions = true
			r.Actions, _ = parseActions(p, kv.KeyAt, kv.Value)
		case "comment":
			r.Comment, _ = yamlnode.Scalar(&p.Problems, kv.KeyAt, kv.Value, "comment")
		}
	}
	if !haveMatch {
		p.Add(n, "rule has no match (write match: {} to match every request)")
	}
	if !haveActions {
		p.Add(n, "rule has no actions (write actions: [] for a deny rule)")
	}
	return r, p.Len() == before
}

func parseMatch(p *problems, n *yaml.Node) (Match, bool) {
	before := p.Len()
	pairs, ok := yamlnode.Pairs(&p.Problems, n, "match", matchKeys)
	if !ok {
		return Match{}, false
	}
	var m Match
	var source *string
	var sourceKey *yaml.Node
	for _, kv := range pairs {
		if kv.Key == "labels" {
			m.Labels = parseLabels(p, kv.KeyAt, kv.Value)
			continue
		}
		s, ok := yamlnode.Scalar(&p.Problems, kv.KeyAt, kv.Value, "match."+kv.Key)
		if !ok {
			continue
		}
		switch kv.Key {
		case "account":
			m.Account = &s
		case "type":
			m.Type = &s
		case "name":
			m.Name = &s
		case "service":
			m.Service = &s
		case "ip":
			m.IP = &s
		case "source":
			source, sourceKey = &s, kv.KeyAt
		}
	}
	if source != nil {
		if err := m.SetSource(*source); err != nil {
			p.Add(sourceKey, "%v", err)
		}
	}
	return m, p.Len() == before
}

// SetSource makes the match require the backend that admitted the account
// (the YAML key source): it is the label condition wharf.source, which the
// authenticator chain sets.
func (m *Match) SetSource(pattern string) error {
	if _, both := m.Labels[auth.LabelSource]; both {
		return fmt.Errorf("match.source and match.labels.%s say the same; keep one", auth.LabelSource)
	}
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[auth.LabelSource] = pattern
	return nil
}

// SplitSource returns the labels without the source condition, and that
// condition (nil when there is none), for showing a rule as it is written.
func (m Match) SplitSource() (map[string]string, *string) {
	src, ok := m.Labels[auth.LabelSource]
	if !ok {
		return m.Labels, nil
	}
	rest := make(map[string]string, len(m.Labels)-1)
	for k, v := range m.Labels {
		if k != auth.LabelSource {
			rest[k] = v
		}
	}
	if len(rest) == 0 {
		rest = nil
	}
	return rest, &src
}

func parseLabels(p *problems, kn, n *yaml.Node) map[string]string {
	if yamlnode.IsNull(n) {
		p.Add(kn, "match.labels has no value (remove the key, or give label: pattern pairs)")
		return nil
	}
	pairs, ok := yamlnode.Pairs(&p.Problems, n, "match.labels", nil)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		if s, ok := yamlnode.Scalar(&p.Problems, kv.KeyAt, kv.Value, "match.labels."+kv.Key); ok {
			out[kv.Key] = s
		}
	}
	return out
}

func parseActions(p *problems, kn, n *yaml.Node) ([]string, bool) {
	if yamlnode.IsNull(n) {
		p.Add(kn, "actions has no value (write actions: [] for a deny rule)")
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		p.Add(n, "actions must be a list such as [\"pull\"], not %s", yamlnode.Describe(n))
		return nil, false
	}
	out := make([]string, 0, len(n.Content))
	ok := true
	for _, item := range n.Content {
		s, good := yamlnode.Scalar(&p.Problems, item, yamlnode.Resolve(item), "action")
		if good && s == "" {
			p.Add(item, "action is empty")
			good = false
		}
		if good {
			out = append(out, s)
		}
		ok = ok && good
	}
	return out, ok
}
