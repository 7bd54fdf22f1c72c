package authz

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"wharf/internal/keyhint"
)

// field is a request attribute a pattern can match and a placeholder can
// name.
type field int

const (
	fieldAccount field = iota
	fieldType
	fieldName
	fieldService
	numFields
)

var fieldNames = [numFields]string{"account", "type", "name", "service"}

func (f field) String() string { return fieldNames[f] }

// maxLabelCombinations bounds the label values tried for one pattern. A
// pattern with several ${labels:…} placeholders tries every combination
// (docker_auth's cartesian product), which grows fast; past the bound the
// request fails instead of burning CPU, and never turns into a grant.
const maxLabelCombinations = 10000

// ErrTooManyCombinations means an account has so many label values that a
// rule's ${labels:…} placeholders cannot all be tried.
var ErrTooManyCombinations = errors.New("authz: too many label combinations")

type segKind uint8

const (
	segLiteral segKind = iota
	segVar             // ${account}
	segCapture         // ${account:1}
	segLabel           // ${labels:group}
)

type segment struct {
	kind  segKind
	text  string // the literal text, or the label name
	field field
	group int
}

// captureRef names capture group `group` of the regex matching `field`.
type captureRef struct {
	field field
	group int
}

// pattern is one compiled match string.
type pattern struct {
	src     string
	regex   bool // "/…/": a regular expression, else a path.Match glob
	exact   bool // a glob without metacharacters or placeholders: plain ==
	body    string
	segs    []segment // nil when the pattern has no placeholders
	labels  []string  // distinct ${labels:X} names, in order of appearance
	re      *regexp.Regexp
	dynamic *regexCache // compiled expansions of a regex with placeholders
}

// isRegex is docker_auth's rule: longer than two characters, enclosed in
// slashes. It is decided on the pattern as written, before placeholders are
// expanded, so that a substituted value can never turn a glob into a regex.
func isRegex(s string) bool { return len(s) > 2 && s[0] == '/' && s[len(s)-1] == '/' }

// compilePattern parses placeholders and compiles the pattern, with sample
// values standing in for placeholders so that syntax errors surface at
// start-up rather than as rules that never match.
func compilePattern(src string, allowLabels bool) (*pattern, error) {
	p := &pattern{src: src, regex: isRegex(src), body: src}
	if p.regex {
		p.body = src[1 : len(src)-1]
	}
	segs, err := parsePlaceholders(p.body)
	if err != nil {
		return nil, err
	}
	if len(segs) == 1 && segs[0].kind == segLiteral {
		if p.regex {
			if p.re, err = regexp.Compile(p.body); err != nil {
				return nil, fmt.Errorf("bad regular expression %s: %w", src, err)
			}
			return p, nil
		}
		if _, err := path.Match(p.body, ""); err != nil {
			return nil, fmt.Errorf("bad glob %q: %w", src, err)
		}
		p.exact = !strings.ContainsAny(p.body, `*?[\`)
		return p, nil
	}
	p.segs = segs
	for _, s := range segs {
		if s.kind != segLabel {
			continue
		}
		if !allowLabels {
			return nil, fmt.Errorf("%q: ${labels:%s} is not expanded here (only in account, type, name and service)", src, s.text)
		}
		if !slices.Contains(p.labels, s.text) {
			p.labels = append(p.labels, s.text)
		}
	}
	sample := p.expand(func(segment) string { return "x" })
	if p.regex {
		if _, err := regexp.Compile(sample); err != nil {
			return nil, fmt.Errorf("bad regular expression %s: %w", src, err)
		}
		p.dynamic = &regexCache{m: map[string]*regexp.Regexp{}}
	} else if _, err := path.Match(sample, ""); err != nil {
		return nil, fmt.Errorf("bad glob %q: %w", src, err)
	}
	return p, nil
}

// parsePlaceholders splits s into literal text and ${…} placeholders. An
// unknown placeholder is an error: docker_auth would leave it in the pattern
// as literal text, so the rule could never match and nobody would know why.
func parsePlaceholders(s string) ([]segment, error) {
	var segs []segment
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unterminated placeholder %q", s[i:])
		}
		if i > 0 {
			segs = append(segs, segment{kind: segLiteral, text: s[:i]})
		}
		seg, err := parsePlaceholder(s[i+2 : i+j])
		if err != nil {
			return nil, err
		}
		segs = append(segs, seg)
		s = s[i+j+1:]
	}
	if s != "" || len(segs) == 0 {
		segs = append(segs, segment{kind: segLiteral, text: s})
	}
	return segs, nil
}

const validPlaceholders = "${account}, ${type}, ${name}, ${service}, ${labels:KEY}, ${account:N}, ${type:N}, ${name:N}, ${service:N}"

func parsePlaceholder(inner string) (segment, error) {
	if key, ok := strings.CutPrefix(inner, "labels:"); ok {
		if key == "" {
			return segment{}, fmt.Errorf("placeholder ${labels:} names no label")
		}
		return segment{kind: segLabel, text: key}, nil
	}
	name, num, isCapture := strings.Cut(inner, ":")
	for f := range numFields {
		if fieldNames[f] != name {
			continue
		}
		if !isCapture {
			return segment{kind: segVar, field: f}, nil
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || strings.ContainsAny(num, "+-") {
			return segment{}, fmt.Errorf("placeholder ${%s}: capture groups are numbered from 1", inner)
		}
		return segment{kind: segCapture, field: f, group: n}, nil
	}
	hint := ""
	if s := keyhint.Closest(name, slices.Concat(fieldNames[:], []string{"labels"})); s != "" {
		hint = fmt.Sprintf(" (did you mean ${%s}?)", strings.Replace(inner, name, s, 1))
	}
	return segment{}, fmt.Errorf("unknown placeholder ${%s}%s; valid: %s", inner, hint, validPlaceholders)
}

// expand renders the pattern with each placeholder replaced by value(seg).
func (p *pattern) expand(value func(segment) string) string {
	var b strings.Builder
	for _, s := range p.segs {
		if s.kind == segLiteral {
			b.WriteString(s.text)
		} else {
			b.WriteString(value(s))
		}
	}
	return b.String()
}

// captures lists the capture groups the pattern refers to.
func (p *pattern) captures() []captureRef {
	var out []captureRef
	for _, s := range p.segs {
		if s.kind == segCapture {
			out = append(out, captureRef{s.field, s.group})
		}
	}
	return out
}

// vars are the values placeholders expand to for one request and rule,
// already escaped with regexp.QuoteMeta. The escaping makes a value literal
// in a regex and, because path.Match also honours backslash escapes, in a
// glob: an account named "a*" cannot widen "${account}/*".
type vars struct {
	quoted   *[numFields]string
	captures []capturedValue
	labels   map[string][]string
}

type capturedValue struct {
	ref    captureRef
	quoted string
}

func (v *vars) value(s segment, labelValues map[string]string) string {
	switch s.kind {
	case segVar:
		return v.quoted[s.field]
	case segCapture:
		for _, c := range v.captures {
			if c.ref == (captureRef{s.field, s.group}) {
				return c.quoted
			}
		}
	case segLabel:
		return regexp.QuoteMeta(labelValues[s.text])
	}
	return ""
}

// match reports whether the pattern matches s. A pattern with label
// placeholders matches if some combination of the account's values for
// those labels makes it match; an account without such a label does not
// match.
func (p *pattern) match(s string, v *vars) (bool, error) {
	switch {
	case p.exact:
		return p.body == s, nil
	case p.segs == nil && p.regex:
		return p.re.MatchString(s), nil
	case p.segs == nil:
		ok, err := path.Match(p.body, s)
		return ok && err == nil, nil
	case len(p.labels) == 0:
		return p.matchExpanded(p.expand(func(seg segment) string { return v.value(seg, nil) }), s), nil
	}
	lists := make([][]string, len(p.labels))
	total := 1
	for i, key := range p.labels {
		lists[i] = v.labels[key]
		if len(lists[i]) == 0 {
			return false, nil
		}
		total *= len(lists[i])
		if total > maxLabelCombinations {
			return false, fmt.Errorf("%w: pattern %q with %d labels", ErrTooManyCombinations, p.src, len(p.labels))
		}
	}
	idx := make([]int, len(lists))
	current := make(map[string]string, len(lists))
	for {
		for i, key := range p.labels {
			current[key] = lists[i][idx[i]]
		}
		if p.matchExpanded(p.expand(func(seg segment) string { return v.value(seg, current) }), s) {
			return true, nil
		}
		// Advance the odometer; done when it wraps around.
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(lists[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return false, nil
		}
	}
}

func (p *pattern) matchExpanded(expanded, s string) bool {
	if !p.regex {
		ok, err := path.Match(expanded, s)
		return ok && err == nil
	}
	re, err := p.dynamic.get(expanded)
	return err == nil && re.MatchString(s)
}

// regexCache keeps the compiled expansions of one regex with placeholders:
// the same account asks again and again, and compiling costs more than
// matching. It is bounded by starting over when full.
type regexCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

const regexCacheSize = 256

func (c *regexCache) get(expr string) (*regexp.Regexp, error) {
	c.mu.Lock()
	re, ok := c.m[expr]
	c.mu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= regexCacheSize {
		clear(c.m)
	}
	c.m[expr] = re
	c.mu.Unlock()
	return re, nil
}
