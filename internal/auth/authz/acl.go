package authz

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"wharf/internal/auth"
)

// ACL is a compiled, immutable list of rules; safe for concurrent use.
type ACL struct {
	rules []compiledRule
}

var _ Authorizer = (*ACL)(nil)

type compiledRule struct {
	rule     Rule
	fields   [numFields]*pattern // nil: any value
	ip       netip.Prefix        // invalid: any address
	labels   []labelCondition
	captures []captureRef
	all      bool     // actions is exactly ["*"]
	actions  []string // sorted, without duplicates
}

type labelCondition struct {
	name string
	p    *pattern
}

// New compiles rules. Every pattern, placeholder and address is checked
// here, so a bad rule stops start-up with an error naming its index and
// line instead of silently never (or always) matching.
func New(rules []Rule) (*ACL, error) {
	a := &ACL{rules: make([]compiledRule, len(rules))}
	var errs []error
	for i, r := range rules {
		c, err := compileRule(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("authz: rule %s: %w", where(i, r.Line), err))
			continue
		}
		a.rules[i] = c
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

func where(i, line int) string {
	if line > 0 {
		return fmt.Sprintf("#%d (line %d)", i, line)
	}
	return fmt.Sprintf("#%d", i)
}

func compileRule(r Rule) (compiledRule, error) {
	c := compiledRule{rule: r}
	var errs []string
	src := [numFields]*string{r.Match.Account, r.Match.Type, r.Match.Name, r.Match.Service}
	for f, s := range src {
		if s == nil {
			continue
		}
		p, err := compilePattern(*s, true)
		if err != nil {
			errs = append(errs, fmt.Sprintf("match.%s: %v", fieldNames[f], err))
			continue
		}
		c.fields[f] = p
		c.captures = append(c.captures, p.captures()...)
	}
	if r.Match.IP != nil {
		ip, err := parseIPPattern(*r.Match.IP)
		if err != nil {
			errs = append(errs, fmt.Sprintf("match.ip: %v", err))
		}
		c.ip = ip
	}
	for _, name := range sortedKeys(r.Match.Labels) {
		p, err := compilePattern(r.Match.Labels[name], false)
		if err != nil {
			errs = append(errs, fmt.Sprintf("match.labels.%s: %v", name, err))
			continue
		}
		c.labels = append(c.labels, labelCondition{name, p})
		c.captures = append(c.captures, p.captures()...)
	}
	if len(errs) == 0 { // a reference to a pattern that failed would only add noise
		for _, ref := range c.captures {
			if err := c.checkCapture(ref); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return c, errors.New(strings.Join(errs, "; "))
	}
	slices.SortFunc(c.captures, func(a, b captureRef) int {
		if a.field != b.field {
			return int(a.field) - int(b.field)
		}
		return a.group - b.group
	})
	c.captures = slices.Compact(c.captures)
	c.all = len(r.Actions) == 1 && r.Actions[0] == "*"
	c.actions = slices.Compact(slices.Sorted(slices.Values(r.Actions)))
	return c, nil
}

// checkCapture verifies that ${field:N} refers to a regex of this rule with
// at least N groups. docker_auth would leave an unresolvable reference in
// the pattern as text, so the rule could never match.
func (c *compiledRule) checkCapture(ref captureRef) error {
	target := c.fields[ref.field]
	name := fieldNames[ref.field]
	switch {
	case target == nil || !target.regex:
		return fmt.Errorf("${%s:%d} needs match.%s to be a /regex/ with a capture group", name, ref.group, name)
	case target.re == nil:
		return fmt.Errorf("${%s:%d}: match.%s must not itself contain placeholders", name, ref.group, name)
	case ref.group > target.re.NumSubexp():
		return fmt.Errorf("${%s:%d}: match.%s %s has only %d capture groups", name, ref.group, name, target.src, target.re.NumSubexp())
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parseIPPattern accepts an address (a single-host prefix) or a CIDR
// prefix. IPv4-mapped IPv6 forms are folded to IPv4, as net.IPNet does for
// docker_auth, so ::ffff:10.0.0.1 and 10.0.0.1 are the same client.
func parseIPPattern(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix: %w", s, err)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
	}
	addr = addr.Unmap()
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// request is the per-request state rules are matched against.
type request struct {
	values [numFields]string
	quoted [numFields]string
	ip     netip.Addr
	labels auth.Labels
}

func newRequest(req auth.Request) *request {
	r := &request{
		values: [numFields]string{req.Identity.Account, req.Access.Type, req.Access.Name, req.Service},
		ip:     req.IP.Unmap().WithZone(""),
		labels: req.Identity.Labels,
	}
	for f, v := range r.values {
		r.quoted[f] = regexp.QuoteMeta(v)
	}
	return r
}

func (c *compiledRule) matches(r *request) (bool, error) {
	if c.ip.IsValid() && (!r.ip.IsValid() || !c.ip.Contains(r.ip)) {
		return false, nil
	}
	v := vars{quoted: &r.quoted, labels: r.labels}
	for _, ref := range c.captures {
		// The referenced regex must match its own field for the rule to
		// match at all, so a value that does not match ends the rule here.
		sub := c.fields[ref.field].re.FindStringSubmatch(r.values[ref.field])
		if sub == nil {
			return false, nil
		}
		v.captures = append(v.captures, capturedValue{ref, regexp.QuoteMeta(sub[ref.group])})
	}
	for f, p := range c.fields {
		if p == nil {
			continue
		}
		if ok, err := p.match(r.values[f], &v); !ok || err != nil {
			return false, err
		}
	}
	for _, l := range c.labels {
		matched := false
		for _, value := range r.labels[l.name] {
			if ok, _ := l.p.match(value, &v); ok {
				matched = true
				break
			}
		}
		if !matched {
			return false, nil
		}
	}
	return true, nil
}

// allow intersects the requested actions with the rule's. Only a rule whose
// actions are exactly ["*"] allows everything; "*" among other actions is
// an ordinary action name (docker_auth's rule, flagged by Lint).
func (c *compiledRule) allow(requested []string) []string {
	out := make([]string, 0, len(requested))
	for _, a := range requested {
		if c.all || slices.Contains(c.actions, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (a *ACL) decide(req auth.Request) (int, []string, error) {
	r := newRequest(req)
	for i := range a.rules {
		c := &a.rules[i]
		ok, err := c.matches(r)
		if err != nil {
			return -1, nil, fmt.Errorf("authz: rule %s: %w", where(i, c.rule.Line), err)
		}
		if ok {
			return i, c.allow(req.Access.Actions), nil
		}
	}
	return -1, nil, ErrNoMatch
}

// Authorize returns the requested actions allowed by the first rule that
// matches the request (possibly none: an empty, non-nil slice). When no
// rule matches it returns nil and ErrNoMatch, which a Chain passes on and
// a caller treats as deny. The result is sorted and free of duplicates.
func (a *ACL) Authorize(_ context.Context, req auth.Request) ([]string, error) {
	_, allowed, err := a.decide(req)
	return allowed, err
}

// Explain reports which rule decides req (its index in the rules given to
// New, or -1 when none matches), that rule's comment and the actions it
// allows. The error is not nil only when the request could not be evaluated
// (ErrTooManyCombinations); no match is not an error here.
func (a *ACL) Explain(req auth.Request) (ruleIndex int, comment string, allowed []string, err error) {
	i, allowed, err := a.decide(req)
	switch {
	case i >= 0:
		return i, a.rules[i].rule.Comment, allowed, nil
	case errors.Is(err, ErrNoMatch):
		return -1, "", nil, nil
	}
	return -1, "", nil, err
}

// Rules returns a copy of the rules the ACL was built from.
func (a *ACL) Rules() []Rule {
	out := make([]Rule, len(a.rules))
	for i := range a.rules {
		out[i] = a.rules[i].rule
	}
	return out
}

// Name implements Authorizer.
func (a *ACL) Name() string { return "static ACL" }
