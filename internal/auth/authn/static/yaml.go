package static

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"wharf/internal/auth"
	"wharf/internal/auth/password"
	"wharf/internal/keyhint"
)

var userKeys = []string{"password", "labels"}

// ParseUsers decodes the users mapping strictly: unknown keys, values of the
// wrong kind, repeated users and passwords that are not bcrypt hashes are
// errors naming their line, all reported at once. Pass the value node of
// the users: key (or a document holding only the map).
func ParseUsers(node *yaml.Node) (map[string]User, error) {
	p := &problems{named: true}
	users := parseUsers(p, node)
	if len(p.list) > 0 {
		return nil, p.err()
	}
	return users, nil
}

func parseUsers(p *problems, node *yaml.Node) map[string]User {
	users := map[string]User{}
	n := resolve(node)
	if isNull(n) {
		return users
	}
	if n.Kind != yaml.MappingNode {
		p.add(n, "users must be a mapping of user name to {password, labels}")
		return nil
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		if first, dup := seen[kn.Value]; dup {
			p.add(kn, "user %q repeated (first at line %d)", kn.Value, first)
			continue
		}
		seen[kn.Value] = kn.Line
		u, ok := parseUser(p, kn.Value, resolve(n.Content[i+1]))
		if ok {
			users[kn.Value] = u
		}
	}
	return users
}

// Users is the users: map, decoded as ParseUsers does. A configuration
// embeds it so that its users are parsed, and every problem with them
// reported, when the file is read.
type Users map[string]User

// UnmarshalYAML decodes the map strictly (see ParseUsers). The problems are
// returned as a *yaml.TypeError, so that a config embedding Users reports
// them together with its own.
func (us *Users) UnmarshalYAML(n *yaml.Node) error {
	p := &problems{named: true}
	users := parseUsers(p, n)
	if len(p.list) > 0 {
		return p.typeError("users: ")
	}
	*us = users
	return nil
}

// UnmarshalYAML decodes one user strictly, for configs that embed
// map[string]User; New still checks the rules that need the user's name.
func (u *User) UnmarshalYAML(n *yaml.Node) error {
	p := &problems{}
	if user, ok := parseUser(p, "", resolve(n)); ok {
		*u = user
	}
	return p.typeError("")
}

func parseUser(p *problems, name string, n *yaml.Node) (User, bool) {
	before := len(p.list)
	what := "user"
	if p.named {
		what = fmt.Sprintf("user %q", name)
	}
	if isNull(n) {
		empty := &yaml.Node{Kind: yaml.MappingNode} // "": ~ is the same as "": {}
		if n != nil {
			empty.Line = n.Line
		}
		n = empty
	}
	if n.Kind != yaml.MappingNode {
		p.add(n, "%s must be a mapping with keys %s", what, strings.Join(userKeys, ", "))
		return User{}, false
	}
	var u User
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], resolve(n.Content[i+1])
		if seen[kn.Value] {
			p.add(kn, "%s: key %q repeated", what, kn.Value)
			continue
		}
		seen[kn.Value] = true
		switch kn.Value {
		case "password":
			if isNull(vn) || vn.Kind != yaml.ScalarNode {
				p.add(kn, "%s: password must be a bcrypt hash string; %s", what, password.HashHint)
				continue
			}
			// The name is only known when parsing the whole map; User's
			// UnmarshalYAML leaves the anonymous check to New.
			if err := password.CheckHash(vn.Value); err != nil {
				p.add(vn, "%s: %v", what, err)
				continue
			}
			u.Password = auth.Secret(vn.Value)
		case "labels":
			u.Labels = parseLabels(p, what, kn, vn)
		default:
			hint := ""
			if s := keyhint.Closest(kn.Value, userKeys); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.add(kn, "unknown key %q in %s%s; valid keys: %s", kn.Value, what, hint, strings.Join(userKeys, ", "))
		}
	}
	if len(p.list) == before && p.named {
		if err := checkUser(name, u); err != nil {
			p.add(n, "%s", strings.TrimPrefix(err.Error(), "static: "))
		}
	}
	return u, len(p.list) == before
}

func parseLabels(p *problems, what string, kn, n *yaml.Node) auth.Labels {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.add(kn, "%s: labels must be a mapping of label to a list of values, e.g. {group: [admins]}", what)
		return nil
	}
	out := auth.Labels{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		lk, lv := n.Content[i], resolve(n.Content[i+1])
		if _, dup := out[lk.Value]; dup {
			p.add(lk, "%s: label %q repeated", what, lk.Value)
			continue
		}
		if lv == nil || lv.Kind != yaml.SequenceNode {
			p.add(lk, "%s: label %q must be a list of strings, e.g. %s: [%s]", what, lk.Value, lk.Value, describe(lv))
			continue
		}
		values := []string{}
		for _, item := range lv.Content {
			item = resolve(item)
			if isNull(item) || item.Kind != yaml.ScalarNode {
				p.add(item, "%s: label %q: values must be strings", what, lk.Value)
				continue
			}
			if !slices.Contains(values, item.Value) {
				values = append(values, item.Value)
			}
		}
		out[lk.Value] = values
	}
	return out
}

// problems collects every error of a document with its line.
type problems struct {
	named bool // parsing the whole map: user names are known
	list  []problem
}

type problem struct {
	line int
	msg  string
}

func (p *problems) add(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.list = append(p.list, problem{line, fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = fmt.Errorf("static: line %d: %s", e.line, e.msg)
	}
	return errors.Join(errs...)
}

// typeError renders the problems the way yaml.v3 reports its own, each
// message after prefix, or returns nil when there are none.
func (p *problems) typeError(prefix string) error {
	if len(p.list) == 0 {
		return nil
	}
	te := &yaml.TypeError{}
	for _, e := range p.list {
		te.Errors = append(te.Errors, fmt.Sprintf("line %d: %s%s", e.line, prefix, e.msg))
	}
	return te
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func describe(n *yaml.Node) string {
	if n == nil || isNull(n) {
		return ""
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return "…"
}
