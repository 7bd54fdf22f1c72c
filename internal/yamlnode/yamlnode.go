package yamlnode

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"wharf/internal/keyhint"
)

// MaxDepth bounds every walk over user YAML, which may hold alias cycles.
const MaxDepth = 64

// Resolve follows aliases and unwraps document nodes; nil for an empty
// document, and for a chain of aliases longer than MaxDepth (a cycle).
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < MaxDepth; i++ {
		switch n.Kind {
		case yaml.AliasNode:
			n = n.Alias
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

// IsNull reports whether n is absent or null (~, null, or nothing).
func IsNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// Describe names what n is, for messages: "nothing", "a mapping", "a list",
// or the quoted scalar.
func Describe(n *yaml.Node) string {
	n = Resolve(n)
	switch {
	case IsNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// ParseBool reads an unquoted YAML 1.1 boolean (yes/no/on/off/true/false),
// as distribution and docker_auth do; a quoted one is a string.
func ParseBool(n *yaml.Node) (value, ok bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		return false, false
	}
	switch n.Value {
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true, true
	case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}

// IsSet reports whether n holds anything: a value other than null, "" or
// false, a non-empty list, or a mapping with such a value somewhere inside.
// Each node is visited once, however many aliases lead to it.
func IsSet(n *yaml.Node) bool { return isSet(n, make(map[*yaml.Node]bool)) }

func isSet(n *yaml.Node, seen map[*yaml.Node]bool) bool {
	n = Resolve(n)
	if IsNull(n) || seen[n] {
		return false
	}
	seen[n] = true
	switch n.Kind {
	case yaml.ScalarNode:
		if v, ok := ParseBool(n); ok {
			return v
		}
		return n.Value != ""
	case yaml.SequenceNode:
		return len(n.Content) > 0
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if isSet(n.Content[i], seen) {
				return true
			}
		}
	}
	return false
}

// Problem is one problem of a document, at a position (0: unknown).
type Problem struct {
	Line, Column int
	Msg          string
}

// Problems collects every problem of a document, so that one run reports
// them all instead of one per edit-and-restart cycle.
type Problems struct{ list []Problem }

// Add records a problem at n (nil: no position).
func (p *Problems) Add(n *yaml.Node, format string, args ...any) {
	pr := Problem{Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		pr.Line, pr.Column = n.Line, n.Column
	}
	p.list = append(p.list, pr)
}

// Len is how many problems were recorded.
func (p *Problems) Len() int { return len(p.list) }

// List returns the problems in line order (stable for equal lines).
func (p *Problems) List() []Problem {
	out := slices.Clone(p.list)
	slices.SortStableFunc(out, func(a, b Problem) int { return a.Line - b.Line })
	return out
}

// TypeError renders the problems the way yaml.v3 reports its own, each
// message after prefix, so that a document embedding this one reports them
// together with its own; nil when there are none.
func (p *Problems) TypeError(prefix string) error {
	if len(p.list) == 0 {
		return nil
	}
	te := &yaml.TypeError{}
	for _, pr := range p.List() {
		te.Errors = append(te.Errors, fmt.Sprintf("line %d: %s%s", pr.Line, prefix, pr.Msg))
	}
	return te
}

// Pair is one key of a mapping and its (resolved) value.
type Pair struct {
	Key   string
	KeyAt *yaml.Node // the key, for its line
	Value *yaml.Node
}

// Pairs checks that n is a mapping whose keys appear once and, when valid
// is not nil, are all in valid, and returns its pairs in document order.
// Unknown keys are reported with the closest valid one, because a typo
// such as "acount" is the classic way a docker_auth rule ends up matching
// everyone. what names the mapping in messages.
func Pairs(p *Problems, n *yaml.Node, what string, valid []string) ([]Pair, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		p.Add(n, "%s must be a mapping with keys %s, not %s", what, strings.Join(valid, ", "), Describe(n))
		return nil, false
	}
	var out []Pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		key := kn.Value
		if first, dup := seen[key]; dup {
			p.Add(kn, "%s: key %q repeated (first at line %d)", what, key, first)
			continue
		}
		seen[key] = kn.Line
		if valid != nil && !slices.Contains(valid, key) {
			hint := ""
			if s := keyhint.Closest(key, valid); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.Add(kn, "unknown key %q in %s%s; valid keys: %s", key, what, hint, strings.Join(valid, ", "))
			continue
		}
		out = append(out, Pair{Key: key, KeyAt: kn, Value: Resolve(n.Content[i+1])})
	}
	return out, true
}

// Scalar returns a string value; null and non-scalars are problems, because
// a null pattern or name would otherwise mean "anything".
func Scalar(p *Problems, keyAt, n *yaml.Node, what string) (string, bool) {
	if IsNull(n) {
		p.Add(keyAt, "%s has no value (write \"\" for the empty string, or remove the key)", what)
		return "", false
	}
	if n = Resolve(n); n.Kind != yaml.ScalarNode {
		p.Add(n, "%s must be a string, not %s", what, Describe(n))
		return "", false
	}
	return n.Value, true
}
