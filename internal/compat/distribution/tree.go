package distribution

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"wharf/internal/compat"
	"wharf/internal/keyhint"
	"wharf/internal/yamlnode"
)

// Sentinels for errors.Is (compat's, shared by both readers).
var (
	ErrUnknownKey   = compat.ErrUnknownKey
	ErrNotSupported = compat.ErrNotSupported
)

const maxDepth = yamlnode.MaxDepth

// tree is the merged configuration: the file's YAML nodes plus the values
// environment variables put in, each remembering where it came from.
type tree struct {
	root   *yaml.Node            // always a mapping
	file   string                // the file's path; "" for the built-in config
	origin map[*yaml.Node]string // nodes made from an environment variable → its name
}

// where names the source of n for a message: "line 7", or the environment
// variable that set it.
func (t *tree) where(n *yaml.Node) string {
	if name, ok := t.origin[n]; ok {
		return name
	}
	if t.file == "" {
		return fmt.Sprintf("built-in config line %d", n.Line)
	}
	return fmt.Sprintf("line %d", n.Line)
}

// member returns the key and value nodes of name in mapping m.
func member(m *yaml.Node, name string) (key, val *yaml.Node) {
	m = yamlnode.Resolve(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == name {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// lookup follows path from the root; the value node or nil (absent or null).
func (t *tree) lookup(path ...string) *yaml.Node {
	n := t.root
	for _, p := range path {
		_, n = member(n, p)
		if yamlnode.IsNull(n) {
			return nil
		}
	}
	return yamlnode.Resolve(n)
}

// has reports whether the last key of path is present, even with no value.
func (t *tree) has(path ...string) bool {
	parent := t.lookup(path[:len(path)-1]...)
	k, _ := member(parent, path[len(path)-1])
	return k != nil
}

// str is the scalar at path, "" when absent or null.
func (t *tree) str(path ...string) string {
	n := t.lookup(path...)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// boolean is the YAML 1.1 boolean at path and whether it is set.
func (t *tree) boolean(path ...string) (value, set bool) {
	n := t.lookup(path...)
	if n == nil {
		return false, false
	}
	v, _ := yamlnode.ParseBool(n)
	return v, true
}

// isSet reports whether n holds anything: a value other than null, "" or
// false, or a list or mapping with such a value somewhere inside.

// notes holds log records until the load succeeds.
type notes = compat.Notes

// checker walks the merged tree against the schema, collecting every error
// and noting each accepted key that has no effect.
type checker struct {
	t      *tree
	log    *notes
	errs   []error
	visits int // bounds the work aliases can multiply
}

// maxVisits is far more nodes than any real configuration has.
const maxVisits = 100_000

func (c *checker) errorf(n *yaml.Node, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: "+format, append([]any{c.t.where(n)}, args...)...))
}

func (c *checker) walk(n *yaml.Node, sp *spec, path string, depth int) {
	n = yamlnode.Resolve(n)
	if yamlnode.IsNull(n) || sp.kind == kAny {
		return
	}
	if c.visits++; c.visits == maxVisits {
		c.errorf(n, "%s: too many values (check the file's aliases)", path)
	}
	if depth > maxDepth || c.visits >= maxVisits {
		return
	}
	switch sp.kind {
	case kScalar:
		c.scalar(n, sp, path)
	case kList:
		if n.Kind == yaml.ScalarNode {
			c.errorf(n, "%s: must be a list such as [%s], not %s", path, strings.TrimLeft(n.Value, "- "), yamlnode.Describe(n))
			return
		}
		if n.Kind != yaml.SequenceNode {
			c.errorf(n, "%s: must be a list, not %s", path, yamlnode.Describe(n))
			return
		}
		for i, e := range n.Content {
			c.walk(e, sp.elem, fmt.Sprintf("%s.%d", path, i), depth+1)
		}
	case kDict, kSection:
		if n.Kind != yaml.MappingNode {
			c.errorf(n, "%s: must be a mapping of keys, not %s", path, yamlnode.Describe(n))
			return
		}
		seen := make(map[string]*yaml.Node)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				where := path
				if where == "" {
					where = "top level"
				}
				c.errorf(k, "%s: a key must be a name, not %s", where, yamlnode.Describe(k))
				continue
			}
			p := strings.TrimPrefix(path+"."+k.Value, ".")
			if first, dup := seen[k.Value]; dup {
				c.errorf(k, "%s: repeated (first at %s)", p, c.t.where(first))
				continue
			}
			seen[k.Value] = k
			if sp.kind == kDict {
				c.walk(v, sp.elem, p, depth+1)
				continue
			}
			fl := sp.field(k.Value)
			if fl == nil {
				c.errorf(k, "%w %s%s", ErrUnknownKey, p, suggest(k.Value, sp))
				continue
			}
			c.status(k, v, fl.spec, p)
			if fl.spec.status != notYetSet && fl.spec.status != notYetPresent {
				c.walk(v, fl.spec, p, depth+1)
			}
		}
	}
}

func (c *checker) status(k, v *yaml.Node, sp *spec, path string) {
	note := ""
	if sp.note != "" {
		note = " (" + sp.note + ")"
	}
	switch sp.status {
	case noEffect:
		if yamlnode.IsSet(v) {
			c.log.Info("accepted; no effect in wharf"+note, "key", path, "source", c.t.where(k))
		}
	case notYetSet:
		if yamlnode.IsSet(v) {
			c.errorf(k, "%w: %s%s", ErrNotSupported, path, note)
		}
	case notYetPresent:
		c.errorf(k, "%w: %s%s", ErrNotSupported, path, note)
	}
}

func (c *checker) scalar(n *yaml.Node, sp *spec, path string) {
	if n.Kind != yaml.ScalarNode {
		c.errorf(n, "%s: must be a single value, not %s", path, yamlnode.Describe(n))
		return
	}
	switch sp.typ {
	case tBool:
		if _, ok := yamlnode.ParseBool(n); !ok {
			c.errorf(n, "%s: %q is not true or false (distribution reads a quoted \"true\" as text)", path, n.Value)
		}
	case tInt:
		if _, err := strconv.Atoi(n.Value); err != nil || n.Style != 0 {
			c.errorf(n, "%s: %q is not a whole number", path, n.Value)
		}
	case tDuration:
		if _, err := strconv.ParseInt(n.Value, 10, 64); err == nil && n.Style == 0 {
			return
		}
		if _, err := time.ParseDuration(n.Value); err != nil {
			c.errorf(n, "%s: %q is not a duration such as \"10s\"", path, n.Value)
		}
	}
}

// suggest names the key the user probably meant.
func suggest(k string, sp *spec) string {
	names := make([]string, len(sp.fields))
	for i, fl := range sp.fields {
		names[i] = fl.name
	}
	return keyhint.Suggest(k, names)
}
