package distribution

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"wharf/internal/yamlnode"
)

const envPrefix = "REGISTRY_"

type envVar struct{ name, value string }

// registryVars picks the REGISTRY_* variables out of environ, first
// occurrence winning as with os.Getenv, sorted by name: distribution applies
// them in lexical order so that REGISTRY_AUTH comes before
// REGISTRY_AUTH_TOKEN_REALM.
func registryVars(environ []string) []envVar {
	var vars []envVar
	seen := make(map[string]bool)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || seen[name] {
			continue
		}
		seen[name] = true
		vars = append(vars, envVar{name, value})
	}
	slices.SortFunc(vars, func(a, b envVar) int { return strings.Compare(a.name, b.name) })
	return vars
}

// step is one move down the tree: a mapping key, or a list index.
type step struct {
	key   string
	index int // -1 for a mapping key
	spec  *spec
}

// applyEnv sets every REGISTRY_* variable into the tree, as distribution's
// parser does, and returns every problem.
func (t *tree) applyEnv(environ []string, log *slog.Logger) []error {
	var errs []error
	vars := registryVars(environ)
	defined := make(map[string]bool, len(vars))
	for _, v := range vars {
		defined[v.name] = true
	}
	for _, v := range vars {
		steps, err := t.resolve(v.name)
		if err != nil {
			if serviceLink(v.name, v.value, defined) {
				// Kubernetes defines <SERVICE>_PORT and friends in every pod
				// for every service of its namespace; one named registry or
				// registry-auth would otherwise stop wharf from starting.
				log.Warn("ignoring what looks like a Kubernetes service-link variable, not a registry setting (set enableServiceLinks: false on the pod to drop it)",
					"variable", v.name)
				continue
			}
			errs = append(errs, err)
			continue
		}
		val, err := t.envValue(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := t.set(steps, val, v.name, log); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// resolve maps a variable name onto the schema without changing the tree.
func (t *tree) resolve(name string) ([]step, error) {
	elems := strings.Split(strings.TrimPrefix(name, envPrefix), "_")
	sp, n := schema, t.root
	var path []string
	var steps []step
	for _, e := range elems {
		st := step{index: -1}
		switch sp.kind {
		case kSection:
			fl := sp.envField(e)
			if fl == nil {
				hint := suggest(strings.ToLower(e), sp)
				if sp.envField(strings.ToUpper(e)) != nil {
					hint = " (distribution matches upper-case names only: " + strings.ToUpper(e) + ")"
				}
				return nil, fmt.Errorf("%s: %w %s%s", name, ErrUnknownKey, strings.Join(append(path, strings.ToLower(e)), "."), hint)
			}
			st.key, st.spec = fl.name, fl.spec
		case kDict, kAny:
			if e == "" {
				return nil, fmt.Errorf("%s: %w: an empty name under %s", name, ErrUnknownKey, strings.Join(path, "."))
			}
			// Map keys match case-insensitively; new ones are lower-cased.
			st.key = strings.ToLower(e)
			if m := yamlnode.Resolve(n); m != nil && m.Kind == yaml.MappingNode {
				for i := 0; i < len(m.Content); i += 2 {
					if strings.ToUpper(m.Content[i].Value) == e {
						st.key = m.Content[i].Value
						break
					}
				}
			}
			st.spec = sp.elem
			if sp.kind == kAny {
				st.spec = sp
			}
		case kList:
			idx, err := strconv.Atoi(e)
			size := 0
			if m := yamlnode.Resolve(n); m != nil && m.Kind == yaml.SequenceNode {
				size = len(m.Content)
			}
			if err != nil || idx < 0 || idx > size {
				return nil, fmt.Errorf("%s: %s is a list; %q is not an index from 0 to %d", name, strings.Join(path, "."), e, size)
			}
			st.index, st.spec = idx, sp.elem
		case kScalar:
			return nil, fmt.Errorf("%s: %w %s (%s is a single value)", name, ErrUnknownKey,
				strings.Join(append(path, strings.ToLower(e)), "."), strings.Join(path, "."))
		}
		if st.index >= 0 {
			path = append(path, e)
			n = childAt(n, st.index)
		} else {
			path = append(path, st.key)
			_, n = member(n, st.key)
		}
		steps = append(steps, st)
		sp = st.spec
	}
	return steps, nil
}

func childAt(n *yaml.Node, i int) *yaml.Node {
	if n = yamlnode.Resolve(n); n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return nil
}

// envValue parses a variable's value as YAML, as distribution does, so that
// REGISTRY_HTTP_ADDR="0.0.0.0:443" (quotes included, as a compose list
// passes it) means 0.0.0.0:443.
func (t *tree) envValue(v envVar) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v.value), &doc); err != nil {
		return nil, fmt.Errorf("%s: distribution reads REGISTRY_* values as YAML, and %q is not: %w (quote it, e.g. '%s')",
			v.name, v.value, err, strings.ReplaceAll(v.value, "'", "''"))
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		val = doc.Content[0]
	}
	t.mark(val, v.name, 0)
	return val, nil
}

// mark records that n and everything in it came from the variable name.
func (t *tree) mark(n *yaml.Node, name string, depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	if _, done := t.origin[n]; done {
		return
	}
	t.origin[n] = name
	for _, c := range n.Content {
		t.mark(c, name, depth+1)
	}
}

// set puts val at the end of steps, creating sections on the way.
func (t *tree) set(steps []step, val *yaml.Node, name string, log *slog.Logger) error {
	n := t.root
	for i, st := range steps {
		last := i == len(steps)-1
		var slot **yaml.Node
		if st.index >= 0 {
			if st.index == len(n.Content) {
				n.Content = append(n.Content, nil)
			}
			slot = &n.Content[st.index]
		} else {
			k, _ := member(n, st.key)
			if k == nil {
				k = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: st.key}
				t.origin[k] = name
				n.Content = append(n.Content, k, nil)
			}
			for j := 0; j < len(n.Content); j += 2 {
				if n.Content[j] == k {
					slot = &n.Content[j+1]
				}
			}
		}
		if last {
			if old := *slot; old != nil && (old.Kind == yaml.MappingNode || old.Kind == yaml.SequenceNode) && yamlnode.IsSet(old) {
				level := slog.LevelWarn
				if t.file == "" && t.origin[old] == "" {
					level = slog.LevelInfo // the image's built-in defaults, expected to be overridden
				}
				log.Log(context.Background(), level, "replaces the whole section from "+t.where(old)+
					", as distribution does: the settings there no longer apply", "variable", name, "key", keyPath(steps))
			}
			*slot = normalize(val, st.spec, t, name)
			return nil
		}
		next := *slot
		switch {
		case next != nil && next.Kind == yaml.AliasNode:
			return fmt.Errorf("%s: %s at %s is a YAML alias; write it out to override part of it", name, keyPath(steps[:i+1]), t.where(next))
		case yamlnode.IsNull(next):
			kind := yaml.MappingNode
			if st.spec.kind == kList {
				kind = yaml.SequenceNode
			}
			next = &yaml.Node{Kind: kind}
			t.origin[next] = name
		default:
			next = normalize(next, st.spec, t, "")
		}
		want := yaml.MappingNode
		if st.spec.kind == kList {
			want = yaml.SequenceNode
		}
		if next.Kind != want {
			return fmt.Errorf("%s: %s at %s is %s, so it has no %s", name, keyPath(steps[:i+1]), t.where(next), yamlnode.Describe(next), keyPath(steps[i+1:i+2]))
		}
		*slot = next
		n = next
	}
	return errors.New(name + ": nothing to set") // unreachable: names have at least one element
}

// normalize turns the scalar form of storage and auth ("filesystem",
// "token") into the mapping distribution reads it as.
func normalize(n *yaml.Node, sp *spec, t *tree, name string) *yaml.Node {
	if !sp.scalarForm || n == nil || n.Kind != yaml.ScalarNode || yamlnode.IsNull(n) {
		return n
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: n.Value, Line: n.Line, Column: n.Column}
	m := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column,
		Content: []*yaml.Node{k, {Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line}}}
	if name != "" {
		t.mark(m, name, 0)
	}
	return m
}

func keyPath(steps []step) string {
	parts := make([]string, len(steps))
	for i, st := range steps {
		parts[i] = st.key
		if st.index >= 0 {
			parts[i] = strconv.Itoa(st.index)
		}
	}
	return strings.Join(parts, ".")
}

var (
	serviceLinkSuffix = regexp.MustCompile(`^(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT(?:_[0-9]+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)?)$`)
	serviceLinkValue  = regexp.MustCompile(`^(?:(?:tcp|udp|sctp)://\S+:[0-9]+|[0-9A-Fa-f.:]+|tcp|udp|sctp)$`)
)

// serviceLink reports whether a variable that names no registry setting is
// one of the service-link variables Kubernetes defines for a service named
// registry or registry-*, e.g. REGISTRY_AUTH_PORT=tcp://10.0.0.3:5001: its
// shape and value fit, and the service's <NAME>_SERVICE_HOST is defined.
func serviceLink(name, value string, defined map[string]bool) bool {
	if !serviceLinkValue.MatchString(value) {
		return false
	}
	for i := len("REGISTRY"); i < len(name); i++ {
		if name[i] == '_' && defined[name[:i]+"_SERVICE_HOST"] && serviceLinkSuffix.MatchString(name[i+1:]) {
			return true
		}
	}
	return false
}
