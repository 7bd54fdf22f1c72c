package distribution

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"wharf/internal/compat"
	"wharf/internal/config"
	"wharf/internal/yamlnode"
)

// Load reads distribution's config.yml at path (or, when path is "", the
// registry:2 image's built-in one), applies the REGISTRY_* variables of
// environ as distribution does, and translates the result for `wharf
// registry` (Role config.RoleRegistry).
//
// Every unknown key, unsupported feature or bad value is reported, all at
// once, naming its line or variable. Keys accepted without effect are logged
// at info; Warnings (values with literal quotes) and other surprises at
// warn. log may be nil. The caller still runs config.Validate.
func Load(path string, environ []string, log *slog.Logger) (config.Config, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	src := []byte(builtinConfig)
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return config.Config{}, fmt.Errorf("distribution: %w", err)
		}
		src = b
	}
	return load(src, path, environ, log)
}

func load(src []byte, path string, environ []string, log *slog.Logger) (config.Config, error) {
	name := path
	if name == "" {
		name = "built-in registry:2 config"
	}
	fail := func(errs ...error) (config.Config, error) {
		return config.Config{}, fmt.Errorf("distribution: %s: %w", name, errors.Join(errs...))
	}
	t, err := parse(src, path)
	if err != nil {
		return fail(err)
	}
	if err := t.version(); err != nil {
		return fail(err)
	}
	errs := t.applyEnv(environ, log)
	if _, v := member(t.root, "version"); len(errs) == 0 && (yamlnode.Resolve(v) == nil || yamlnode.Resolve(v).Value != "0.1") {
		errs = append(errs, errors.New("REGISTRY_VERSION: version must stay 0.1"))
	}
	pending := &notes{}
	ck := &checker{t: t, log: pending}
	ck.walk(t.root, schema, "", 0)
	if errs = append(errs, ck.errs...); len(errs) > 0 {
		return fail(errs...)
	}
	c, errs := t.translate(pending)
	if len(errs) > 0 {
		return fail(errs...)
	}
	for _, q := range quotedValues(c) {
		pending.Warn(q.Message(), "source", t.sourceOf(q.Key))
	}
	pending.Flush(log)
	return c, nil
}

// parse reads the YAML document into a tree whose root is a mapping.
func parse(src []byte, path string) (*tree, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	t := &tree{root: &yaml.Node{Kind: yaml.MappingNode}, file: path, origin: make(map[*yaml.Node]string)}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && !yamlnode.IsNull(doc.Content[0]) {
		root := yamlnode.Resolve(doc.Content[0])
		if root == nil || root.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: the file must be a mapping of keys such as version: 0.1", doc.Content[0].Line)
		}
		t.root = root
	}
	for i := 0; i+1 < len(t.root.Content); i += 2 {
		if fl := schema.field(t.root.Content[i].Value); fl != nil && fl.spec.scalarForm {
			t.root.Content[i+1] = normalize(t.root.Content[i+1], fl.spec, t, "")
		}
	}
	return t, nil
}

// version checks the file's version before the environment applies, as
// distribution picks its parser from the file alone.
func (t *tree) version() error {
	k, v := member(t.root, "version")
	if k == nil || yamlnode.IsNull(v) {
		return errors.New("version: missing; distribution requires version: 0.1 at the top of the file")
	}
	if v = yamlnode.Resolve(v); v.Kind != yaml.ScalarNode || v.Value != "0.1" {
		return fmt.Errorf("%s: version: %s is not supported; distribution reads version 0.1 only", t.where(k), yamlnode.Describe(v))
	}
	return nil
}

// sourceOf names where the value at a dotted key came from.
func (t *tree) sourceOf(key string) string {
	path := strings.Split(key, ".")
	if _, err := strconv.Atoi(path[len(path)-1]); err == nil {
		path = path[:len(path)-1] // a list element: name the list
	}
	parent := t.lookup(path[:len(path)-1]...)
	if k, _ := member(parent, path[len(path)-1]); k != nil {
		return t.where(k)
	}
	return "default"
}

func quotedValues(c config.Config) []compat.Setting {
	values := []compat.Setting{
		{Key: "http.addr", Value: c.Addr},
		{Key: "storage.filesystem.rootdirectory", Value: c.Data},
		{Key: "http.tls.certificate", Value: c.TLSFiles.Certificate},
		{Key: "http.tls.key", Value: c.TLSFiles.Key},
		{Key: "auth.token.realm", Value: c.Token.Realm},
		{Key: "auth.token.service", Value: c.Token.Service},
		{Key: "auth.token.issuer", Value: c.Token.Issuer},
		{Key: "auth.token.rootcertbundle", Value: c.Token.RootCertBundle},
		{Key: "auth.token.jwks", Value: c.Token.JWKS},
		{Key: "auth.htpasswd.realm", Value: c.Htpasswd.Realm},
		{Key: "auth.htpasswd.path", Value: c.Htpasswd.Path},
		{Key: "auth.silly.realm", Value: c.Silly.Realm},
		{Key: "auth.silly.service", Value: c.Silly.Service},
	}
	for i, ca := range c.TLSFiles.ClientCAs {
		values = append(values, compat.Setting{Key: fmt.Sprintf("http.tls.clientcas.%d", i), Value: ca})
	}
	return compat.Quoted(values)
}

// Warnings returns a message for every value of c, read from distribution's
// configuration, that still begins and ends with a quote character, naming
// its distribution key: a token issuer or service with literal quotes never
// matches the token server's, and every login fails with a bare 401.
//
// distribution parses REGISTRY_* values as YAML, so the quotes a compose
// list adds to - KEY="value" are already removed; what remains was quoted
// twice, e.g. - KEY='"value"' or issuer: '"value"' in the file. Load logs
// these at warn; Warnings is for callers that check a config again later
// (wharf doctor).
func Warnings(c config.Config) []string {
	return compat.Messages(quotedValues(c))
}
