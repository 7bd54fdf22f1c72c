package compat

import "gopkg.in/yaml.v3"

// MaxDepth bounds every walk over user YAML, which may hold alias cycles.
const MaxDepth = 64

// Deref follows aliases; a chain longer than MaxDepth (a cycle) is nil.
func Deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < MaxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// IsNull reports whether n is absent or null.
func IsNull(n *yaml.Node) bool {
	n = Deref(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// ParseBool reads an unquoted YAML 1.1 boolean (yes/no/on/off/true/false),
// as distribution and docker_auth do; a quoted one is a string.
func ParseBool(n *yaml.Node) (value, ok bool) {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
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
// false, a non-empty list, or a mapping with such a value somewhere inside. Each node
// is visited once, however many aliases lead to it.
func IsSet(n *yaml.Node) bool { return isSet(n, make(map[*yaml.Node]bool)) }

func isSet(n *yaml.Node, seen map[*yaml.Node]bool) bool {
	n = Deref(n)
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
