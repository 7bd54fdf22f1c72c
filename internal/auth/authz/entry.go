package authz

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxEntries bounds the rules one load may hold; more is an error rather
// than an unbounded allocation.
const MaxEntries = 100_000

// Entry is one stored rule: its position (seq), where it came from (for
// messages, e.g. the document's _id) and its fields as decoded from the
// store (maps, lists, strings, numbers, booleans, nil).
type Entry struct {
	Seq    *int64
	Source string
	Fields map[string]any
}

// ParseEntries checks every entry, orders them by seq and returns the
// rules, reporting every bad entry at once. Entries without seq, or two with the
// same seq, are errors: the order of the rules decides, and docker_auth
// requires a unique seq.
func ParseEntries(entries []Entry) ([]Rule, error) {
	if len(entries) > MaxEntries {
		return nil, fmt.Errorf("authz: %d rules, more than the %d accepted", len(entries), MaxEntries)
	}
	var errs []error
	bySeq := map[int64]string{}
	type ordered struct {
		seq  int64
		rule Rule
	}
	out := make([]ordered, 0, len(entries))
	for _, e := range entries {
		if e.Seq == nil {
			hint := ""
			if _, ok := e.Fields["sequence"]; ok {
				hint = " (it has sequence: docker_auth reads seq)"
			}
			errs = append(errs, fmt.Errorf("rule %s: no seq%s; every rule needs a unique whole-number seq that orders it", e.Source, hint))
			continue
		}
		if first, dup := bySeq[*e.Seq]; dup {
			errs = append(errs, fmt.Errorf("rule %s: seq %d is also the seq of %s; the order would be undefined", e.Source, *e.Seq, first))
			continue
		}
		bySeq[*e.Seq] = e.Source
		r, err := parseEntry(e.Fields)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s (seq %d): %w", e.Source, *e.Seq, err))
			continue
		}
		out = append(out, ordered{*e.Seq, r})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	rules := make([]Rule, len(out))
	for i, o := range out {
		rules[i] = o.rule
	}
	return rules, nil
}

// parseEntry turns one entry's fields into a rule with the configuration's
// strict parser, and compiles it so that a bad pattern is reported with
// its entry.
func parseEntry(fields map[string]any) (Rule, error) {
	if c, ok := fields["comment"]; ok && c == nil {
		// docker_auth's xorm writes "Comment": null for a rule without one.
		fields = maps.Clone(fields)
		delete(fields, "comment")
	}
	n, err := entryNode(fields, 0)
	if err != nil {
		return Rule{}, err
	}
	rules, err := ParseACL(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{n}})
	if err != nil {
		return Rule{}, trimParseError(err)
	}
	if _, err := New(rules); err != nil {
		return Rule{}, trimParseError(err)
	}
	return rules[0], nil
}

// trimParseError drops the "authz: " prefixes and the rule index of the parser's
// messages, which would only repeat what the caller says.
func trimParseError(err error) error {
	msg := strings.ReplaceAll(err.Error(), "authz: rule #0: ", "")
	return errors.New(strings.ReplaceAll(msg, "authz: ", ""))
}

// maxEntryDepth bounds the nesting of a stored rule (a rule is three levels
// deep); deeper is an error, not a stack to grow.
const maxEntryDepth = 8

// entryNode builds the YAML node of a decoded value, keys sorted (a rule's keys
// have no order that matters).
func entryNode(v any, depth int) (*yaml.Node, error) {
	if depth > maxEntryDepth {
		return nil, errors.New("nested too deeply to be a rule")
	}
	switch x := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: x}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(x)}, nil
	case int32:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(int64(x), 10)}, nil
	case int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(x, 10)}, nil
	case int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(x)}, nil
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(x, 'g', -1, 64)}, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			c, err := entryNode(e, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			c, err := entryNode(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("a value of type %T has no place in a rule", v)
}
