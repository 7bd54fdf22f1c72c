package static

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"wharf/internal/auth"
	"wharf/internal/auth/password"
	"wharf/internal/yamlnode"
)

var userKeys = []string{"password", "labels"}

// ParseUsers decodes the users mapping strictly: unknown keys, values of the
// wrong kind, repeated users and passwords that are not bcrypt hashes are
// errors naming their line, all reported at once. Pass the value node of
// the users: key (or a document holding only the map).
func ParseUsers(node *yaml.Node) (map[string]User, error) {
	p := &problems{named: true}
	users := parseUsers(p, node)
	if p.Len() > 0 {
		return nil, p.err()
	}
	return users, nil
}

func parseUsers(p *problems, node *yaml.Node) map[string]User {
	users := map[string]User{}
	n := yamlnode.Resolve(node)
	if yamlnode.IsNull(n) {
		return users
	}
	if n.Kind != yaml.MappingNode {
		p.Add(n, "users must be a mapping of user name to {password, labels}")
		return nil
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		if first, dup := seen[kn.Value]; dup {
			p.Add(kn, "user %q repeated (first at line %d)", kn.Value, first)
			continue
		}
		seen[kn.Value] = kn.Line
		u, ok := parseUser(p, kn.Value, yamlnode.Resolve(n.Content[i+1]))
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
	if p.Len() > 0 {
		return p.typeError("users: ")
	}
	*us = users
	return nil
}

// UnmarshalYAML decodes one user strictly, for configs that embed
// map[string]User; New still checks the rules that need the user's name.
func (u *User) UnmarshalYAML(n *yaml.Node) error {
	p := &problems{}
	if user, ok := parseUser(p, "", yamlnode.Resolve(n)); ok {
		*u = user
	}
	return p.typeError("")
}

func parseUser(p *problems, name string, n *yaml.Node) (User, bool) {
	before := p.Len()
	what := "user"
	if p.named {
		what = fmt.Sprintf("user %q", name)
	}
	if yamlnode.IsNull(n) {
		empty := &yaml.Node{Kind: yaml.MappingNode} // "": ~ is the same as "": {}
		if n != nil {
			empty.Line = n.Line
		}
		n = empty
	}
	if n.Kind != yaml.MappingNode {
		p.Add(n, "%s must be a mapping with keys %s", what, strings.Join(userKeys, ", "))
		return User{}, false
	}
	var u User
	pairs, _ := yamlnode.Pairs(&p.Problems, n, what, userKeys)
	for _, kv := range pairs {
		kn, vn := kv.KeyAt, kv.Value
		switch kv.Key {
		case "password":
			if yamlnode.IsNull(vn) || vn.Kind != yaml.ScalarNode {
				p.Add(kn, "%s: password must be a bcrypt hash string; %s", what, password.HashHint)
				continue
			}
			// The name is only known when parsing the whole map; User's
			// UnmarshalYAML leaves the anonymous check to New.
			if err := password.CheckHash(vn.Value); err != nil {
				p.Add(vn, "%s: %v", what, err)
				continue
			}
			u.Password = auth.Secret(vn.Value)
		case "labels":
			u.Labels = parseLabels(p, what, kn, vn)
		}
	}
	if p.Len() == before && p.named {
		if err := checkUser(name, u); err != nil {
			p.Add(n, "%s", strings.TrimPrefix(err.Error(), "static: "))
		}
	}
	return u, p.Len() == before
}

func parseLabels(p *problems, what string, kn, n *yaml.Node) auth.Labels {
	if yamlnode.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.Add(kn, "%s: labels must be a mapping of label to a list of values, e.g. {group: [admins]}", what)
		return nil
	}
	out := auth.Labels{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		lk, lv := n.Content[i], yamlnode.Resolve(n.Content[i+1])
		if _, dup := out[lk.Value]; dup {
			p.Add(lk, "%s: label %q repeated", what, lk.Value)
			continue
		}
		if lv == nil || lv.Kind != yaml.SequenceNode {
			example := "…"
			if lv != nil && lv.Kind == yaml.ScalarNode {
				example = lv.Value
			}
			p.Add(lk, "%s: label %q must be a list of strings, e.g. %s: [%s]", what, lk.Value, lk.Value, example)
			continue
		}
		values := []string{}
		for _, item := range lv.Content {
			item = yamlnode.Resolve(item)
			if yamlnode.IsNull(item) || item.Kind != yaml.ScalarNode {
				p.Add(item, "%s: label %q: values must be strings", what, lk.Value)
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

// problems collects every error of the users (yamlnode's collector);
// named is set while parsing the whole map, where user names are known.
type problems struct {
	named bool
	yamlnode.Problems
}

func (p *problems) err() error {
	list := p.List()
	errs := make([]error, len(list))
	for i, pr := range list {
		errs[i] = fmt.Errorf("static: line %d: %s", pr.Line, pr.Msg)
	}
	return errors.Join(errs...)
}

// typeError renders the problems the way yaml.v3 reports its own, each
// message after prefix, or returns nil when there are none.
func (p *problems) typeError(prefix string) error { return p.TypeError(prefix) }
