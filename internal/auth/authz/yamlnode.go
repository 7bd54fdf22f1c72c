package authz

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"wharf/internal/keyhint"
)

// ParseError is one problem in an ACL document, with its position.
type ParseError struct {
	File   string // empty when the document did not come from a file
	Line   int
	Column int
	Msg    string
}

func (e *ParseError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("authz: %s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	case e.File != "":
		return fmt.Sprintf("authz: %s: %s", e.File, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("authz: line %d: %s", e.Line, e.Msg)
	}
	return "authz: " + e.Msg
}

// problems collects every error of a document, so that one run reports them
// all (errors.Join) instead of one per edit-and-restart cycle.
type problems struct {
	file string
	list []*ParseError
}

func (p *problems) add(n *yaml.Node, format string, args ...any) {
	e := &ParseError{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.list = append(p.list, e)
}

func (p *problems) err() error {
	slices.SortStableFunc(p.list, func(a, b *ParseError) int { return a.Line - b.Line })
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// typeError renders the problems the way yaml.v3 reports its own, so that a
// larger config embedding rules collects every error of the whole document.
func (p *problems) typeError() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b *ParseError) int { return a.Line - b.Line })
	te := &yaml.TypeError{}
	for _, e := range p.list {
		te.Errors = append(te.Errors, fmt.Sprintf("line %d: %s", e.Line, e.Msg))
	}
	return te
}

// resolve follows aliases and unwraps a document node.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
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

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

type pair struct {
	key   string
	kn    *yaml.Node // the key, for its line
	value *yaml.Node // resolved
}

// mapping checks that n is a mapping whose keys are all in valid and appear
// once, and returns its pairs in document order. Unknown keys are reported
// with a suggestion, because a typo such as "acount" is the classic way a
// docker_auth rule ends up matching everyone.
func mapping(p *problems, n *yaml.Node, what string, valid []string) ([]pair, bool) {
	if n == nil || n.Kind != yaml.MappingNode {
		p.add(n, "%s must be a mapping with keys %s, not %s", what, strings.Join(valid, ", "), describe(n))
		return nil, false
	}
	var out []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		key := kn.Value
		if first, dup := seen[key]; dup {
			p.add(kn, "%s: key %q repeated (first at line %d)", what, key, first)
			continue
		}
		seen[key] = kn.Line
		if valid != nil && !slices.Contains(valid, key) {
			hint := ""
			if s := keyhint.Closest(key, valid); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.add(kn, "unknown key %q in %s%s; valid keys: %s", key, what, hint, strings.Join(valid, ", "))
			continue
		}
		out = append(out, pair{key: key, kn: kn, value: resolve(n.Content[i+1])})
	}
	return out, true
}

// scalar returns a string value; null and non-scalars are errors, because a
// null pattern would otherwise mean "match anything".
func scalar(p *problems, kn, n *yaml.Node, what string) (string, bool) {
	if isNull(n) {
		p.add(kn, "%s has no value (write \"\" for the empty string, or remove the key)", what)
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.add(n, "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

func describe(n *yaml.Node) string {
	switch {
	case n == nil || isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}
