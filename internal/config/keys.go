package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"wharf/internal/keyhint"
)

// unknownField is how yaml.v3 reports a key that KnownFields refused.
var unknownField = regexp.MustCompile(`^line (\d+): field (.*) not found in type (\S+)$`)

// explainUnknownKey rewrites yaml.v3's "field adress not found in type
// config.Config" into the words every other strict reader of wharf uses:
// the key, its section and the known key it probably meant.
func explainUnknownKey(msg string) string {
	m := unknownField.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	s, ok := sections()[m[3]]
	if !ok {
		return msg
	}
	in := ""
	if s.path != "" {
		in = " in " + s.path
	}
	out := fmt.Sprintf("line %s: unknown key %q%s%s", m[1], m[2], in, keyhint.Suggest(m[2], s.keys))
	if s.path != "" && len(s.keys) <= 12 {
		out += "; valid keys: " + strings.Join(s.keys, ", ")
	}
	return out
}

// section is one struct of the schema: where it sits in the file ("" for
// the top level, or when several keys share the type) and its keys.
type section struct {
	path string
	keys []string
}

// sections indexes the schema by the type names yaml.v3 reports.
var sections = sync.OnceValue(func() map[string]section {
	out := map[string]section{}
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[Config]().PkgPath() ||
			reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalYAML(*yaml.Node) error }]()) {
			return
		}
		name := t.String()
		if prev, seen := out[name]; seen {
			if prev.path != path {
				prev.path = "" // shared by several sections: name none
				out[name] = prev
			}
			return
		}
		s := section{path: path}
		var fields func(t reflect.Type)
		fields = func(t reflect.Type) {
			for f := range t.Fields() {
				tag := f.Tag.Get("yaml")
				key, opts, _ := strings.Cut(tag, ",")
				switch {
				case key == "-" || !f.IsExported():
				case opts == "inline":
					fields(f.Type)
				default:
					if key == "" {
						key = strings.ToLower(f.Name)
					}
					s.keys = append(s.keys, key)
					walk(f.Type, strings.TrimPrefix(path+"."+key, "."))
				}
			}
		}
		fields(t)
		out[name] = s
	}
	walk(reflect.TypeFor[Config](), "")
	return out
})
