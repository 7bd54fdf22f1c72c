package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidScope means a scope string is malformed.
var ErrInvalidScope = errors.New("auth: invalid scope")

// Resource types of the token protocol.
const (
	TypeRepository = "repository"
	TypeRegistry   = "registry"
)

// Access is one resource and the actions on it, as in a token's `access`
// claim and a scope string: {"type":"repository","name":"a/b","actions":["pull"]}.
type Access struct {
	Type    string   `json:"type"`
	Class   string   `json:"-"` // e.g. "plugin" in "repository(plugin)"; kept to echo it back
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// String renders the scope string form, type[(class)]:name:action,action.
func (a Access) String() string {
	t := a.Type
	if a.Class != "" {
		t += "(" + a.Class + ")"
	}
	return t + ":" + a.Name + ":" + strings.Join(a.Actions, ",")
}

// Allows reports whether a grants action (or "*") on typ/name.
func (a Access) Allows(typ, name, action string) bool {
	return a.Type == typ && a.Name == name && (slices.Contains(a.Actions, action) || slices.Contains(a.Actions, "*"))
}

// maxScopeLen bounds one scope string; real ones are a few hundred bytes.
const maxScopeLen = 1024

// ParseScope parses one scope string, "type[(class)]:name:actions". The name
// may itself contain colons (a host:port prefix), so the type is what comes
// before the first colon and the actions what follows the last one. Actions
// are deduplicated and sorted.
func ParseScope(s string) (Access, error) {
	if len(s) > maxScopeLen {
		return Access{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidScope, maxScopeLen)
	}
	typ, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndexByte(rest, ':')
	if !ok || i < 0 {
		return Access{}, fmt.Errorf("%w: %q is not type:name:actions", ErrInvalidScope, s)
	}
	name, actions := rest[:i], rest[i+1:]
	a := Access{Type: typ, Name: name}
	if open := strings.IndexByte(typ, '('); open >= 0 {
		if !strings.HasSuffix(typ, ")") || open == 0 {
			return Access{}, fmt.Errorf("%w: bad resource class in %q", ErrInvalidScope, s)
		}
		a.Type, a.Class = typ[:open], typ[open+1:len(typ)-1]
	}
	if !validToken(a.Type) || (a.Class != "" && !validToken(a.Class)) || name == "" || strings.ContainsAny(name, " \t\r\n\"") {
		return Access{}, fmt.Errorf("%w: %q", ErrInvalidScope, s)
	}
	for _, act := range strings.Split(actions, ",") {
		if act == "" {
			continue
		}
		if !validToken(act) && act != "*" {
			return Access{}, fmt.Errorf("%w: bad action %q", ErrInvalidScope, act)
		}
		if !slices.Contains(a.Actions, act) {
			a.Actions = append(a.Actions, act)
		}
	}
	slices.Sort(a.Actions)
	return a, nil
}

// ParseScopes parses a space-separated list of scopes (the OAuth2 form) or
// several repeated parameters; empty entries are skipped. Scopes naming the
// same resource are merged.
func ParseScopes(values []string) ([]Access, error) {
	var out []Access
	for _, v := range values {
		for _, s := range strings.Fields(v) {
			a, err := ParseScope(s)
			if err != nil {
				return nil, err
			}
			out = merge(out, a)
		}
	}
	return out, nil
}

func merge(list []Access, a Access) []Access {
	for i := range list {
		if list[i].Type == a.Type && list[i].Class == a.Class && list[i].Name == a.Name {
			for _, act := range a.Actions {
				if !slices.Contains(list[i].Actions, act) {
					list[i].Actions = append(list[i].Actions, act)
				}
			}
			slices.Sort(list[i].Actions)
			return list
		}
	}
	return append(list, a)
}

// validToken accepts the characters resource types, classes and actions use.
func validToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
