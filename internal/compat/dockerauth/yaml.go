package dockerauth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

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

func line(n *yaml.Node) string { return fmt.Sprintf("line %d", n.Line) }

// decodeMessage is the text of an error of yaml.Node.Decode without
// yaml.v3's "unmarshal errors" header: the problems a strict unmarshaler
// reported, each naming its line.
func decodeMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return err.Error()
}

// notes holds log records until the load succeeds.
type notes = compat.Notes

// section is one mapping of the file, its keys checked against known.
type section struct {
	l    *loader
	name string     // "server"; "" for the top level
	at   *yaml.Node // the key that opens it (for messages about missing keys)
	keys map[string]*yaml.Node
	vals map[string]*yaml.Node
}

// section checks that n is a mapping whose keys are all in known, reporting
// unknown and repeated keys, and returns it for typed reads.
func (l *loader) section(at, n *yaml.Node, name string, known ...string) *section {
	s := &section{l: l, name: name, at: at, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	if n = yamlnode.Resolve(n); yamlnode.IsNull(n) {
		return s
	}
	if n.Kind != yaml.MappingNode {
		label := name
		if label == "" {
			label = "the file"
		}
		l.errorf(n, "%s: must be a mapping of keys, not %s", label, yamlnode.Describe(n))
		return s
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, "%s: a key must be a name, not %s", name, yamlnode.Describe(k))
			continue
		}
		full := strings.TrimPrefix(name+"."+k.Value, ".")
		if first, dup := s.keys[k.Value]; dup {
			l.errorf(k, "%s: repeated (first at %s)", full, line(first))
			continue
		}
		if !contains(known, k.Value) {
			l.errorf(k, "%w %s%s", ErrUnknownKey, full, keyhint.Suggest(k.Value, known))
			continue
		}
		s.keys[k.Value], s.vals[k.Value] = k, v
	}
	return s
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func (s *section) full(key string) string { return strings.TrimPrefix(s.name+"."+key, ".") }

// where is the line of key, or of the section when key is absent.
func (s *section) where(key string) *yaml.Node {
	if k := s.keys[key]; k != nil {
		return k
	}
	if s.at != nil {
		return s.at
	}
	return &yaml.Node{Line: 1}
}

// value is the node of key, nil when absent or null.
func (s *section) value(key string) *yaml.Node {
	if v := yamlnode.Resolve(s.vals[key]); !yamlnode.IsNull(v) {
		return v
	}
	return nil
}

func (s *section) str(key string) string {
	v := s.value(key)
	if v == nil {
		return ""
	}
	if v.Kind != yaml.ScalarNode {
		s.l.errorf(v, "%s: must be a single value, not %s", s.full(key), yamlnode.Describe(v))
		return ""
	}
	s.l.at[s.full(key)] = line(s.keys[key])
	return v.Value
}

func (s *section) boolean(key string) bool {
	v := s.value(key)
	if v == nil {
		return false
	}
	b, ok := yamlnode.ParseBool(v)
	if !ok {
		s.l.errorf(v, "%s: %s is not true or false", s.full(key), yamlnode.Describe(v))
	}
	return b
}

// integer is the whole number at key and whether it is present.
func (s *section) integer(key string) (int64, bool) {
	v := s.value(key)
	if v == nil {
		return 0, false
	}
	i, err := strconv.ParseInt(v.Value, 10, 64)
	if v.Kind != yaml.ScalarNode || v.Style != 0 || err != nil {
		s.l.errorf(v, "%s: %s is not a whole number", s.full(key), yamlnode.Describe(v))
		return 0, false
	}
	return i, true
}

func (s *section) set(key string) bool { return yamlnode.IsSet(s.vals[key]) }
