package config

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"gopkg.in/yaml.v3"
)

// Quota bounds the deduplicated bytes of the repositories a pattern
// matches, together (quotas: in wharf.yml).
type Quota struct {
	// Repositories is a pattern in the ACL's syntax: a path.Match glob
	// ("team/*": "*" does not cross "/") or a regular expression between
	// slashes ("/^team/.+$/"). Placeholders such as ${account} have no
	// meaning here and are refused.
	Repositories string `yaml:"repositories"`
	// Bytes is the limit: "10GiB", "500MB" or a number of bytes.
	Bytes ByteSize `yaml:"bytes"`
}

// ByteSize is a size written "10GiB", "1.5 TB" or as a number of bytes.
type ByteSize int64

// UnmarshalYAML accepts "10GiB" or 1073741824. Its errors are
// *yaml.TypeErrors, so that decoding carries on and reports the rest of
// the file's problems too.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a size must be a scalar such as \"10GiB\"", n.Line)}}
	}
	if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		*b = ByteSize(v)
		return nil
	}
	v, err := humanize.ParseBytes(n.Value)
	if err != nil || v > 1<<62 {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a size such as \"10GiB\", \"500MB\" or a number of bytes", n.Line, n.Value)}}
	}
	*b = ByteSize(v)
	return nil
}

// String is the size in binary units ("10 GiB").
func (b ByteSize) String() string { return humanize.IBytes(uint64(max(b, 0))) }

// Matcher compiles the pattern into a test of repository names.
func (q Quota) Matcher() (func(repo string) bool, error) {
	p := q.Repositories
	switch {
	case p == "":
		return nil, fmt.Errorf("repositories: must not be empty (for example \"team/*\")")
	case strings.Contains(p, "${"):
		return nil, fmt.Errorf("repositories: %q: placeholders such as ${account} have no meaning in a quota; name the repositories", p)
	case len(p) > 2 && p[0] == '/' && p[len(p)-1] == '/':
		re, err := regexp.Compile(p[1 : len(p)-1])
		if err != nil {
			return nil, fmt.Errorf("repositories: bad regular expression %s: %w", p, err)
		}
		return re.MatchString, nil
	}
	if _, err := path.Match(p, ""); err != nil {
		return nil, fmt.Errorf("repositories: bad glob %q: %w", p, err)
	}
	return func(repo string) bool {
		ok, _ := path.Match(p, repo) // checked above
		return ok
	}, nil
}

// validateQuotas checks every quota and that no pattern is listed twice.
func (c Config) validateQuotas() []error {
	var errs []error
	seen := map[string]int{}
	for i, q := range c.Quotas {
		key := fmt.Sprintf("quotas[%d]", i)
		if _, err := q.Matcher(); err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", key, err))
		}
		if q.Bytes <= 0 {
			errs = append(errs, fmt.Errorf("%s.bytes: must be positive (for example \"10GiB\")", key))
		}
		if j, ok := seen[q.Repositories]; ok {
			errs = append(errs, fmt.Errorf("%s.repositories: %q is already quotas[%d]'s pattern; keep one limit per pattern", key, q.Repositories, j))
		}
		seen[q.Repositories] = i
	}
	return errs
}
