package authz

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"

	"wharf/internal/keyhint"
)

// Warning is a rule that is valid, and means the same as in docker_auth,
// but is probably not what its author meant.
type Warning struct {
	Rule    int // index in the rules
	Line    int // 0 when unknown
	Message string
}

func (w Warning) String() string {
	return fmt.Sprintf("authz: rule %s: %s", where(w.Rule, w.Line), w.Message)
}

// knownActions are the actions the registry checks; "*" is what catalog
// access asks for.
var knownActions = []string{"pull", "push", "delete", "*"}

// CheckActions refuses an action the registry never asks for, with the
// known action it was probably meant to be: a rule granting "pul" grants
// nothing, silently. docker_auth accepts any action (its tokens may be for
// other services), so only the rules of a Wharf registry are held to it;
// the others get Lint's warning.
func CheckActions(actions []string) error {
	var errs []error
	for _, a := range actions {
		if slices.Contains(knownActions, a) {
			continue
		}
		hint := ""
		// "*" is left out: it is within two edits of any short word.
		if best := keyhint.Closest(a, []string{"pull", "push", "delete"}); best != "" {
			hint = " (did you mean " + best + "?)"
		}
		errs = append(errs, fmt.Errorf("authz: unknown action %q%s; the registry asks for %s",
			a, hint, strings.Join(knownActions, ", ")))
	}
	return errors.Join(errs...)
}

// Lint reports likely mistakes in rules that New accepts: regexes that are
// searches rather than whole-value matches, "*" mixed with other actions,
// unknown action names, placeholders missing their "$", and rules that can
// never be reached because an earlier one matches every request. It is for
// `wharf acl check` and start-up logs; it never changes a decision.
func Lint(rules []Rule) []Warning {
	var out []Warning
	warn := func(i int, format string, args ...any) {
		out = append(out, Warning{Rule: i, Line: rules[i].Line, Message: fmt.Sprintf(format, args...)})
	}
	catchAll := -1
	for i, r := range rules {
		if catchAll >= 0 {
			warn(i, "never reached: rule %s matches every request", where(catchAll, rules[catchAll].Line))
		}
		m := r.Match
		patterns := []struct {
			key string
			val *string
		}{{"account", m.Account}, {"type", m.Type}, {"name", m.Name}, {"service", m.Service}}
		for _, name := range sortedKeys(m.Labels) {
			v := m.Labels[name]
			patterns = append(patterns, struct {
				key string
				val *string
			}{"labels." + name, &v})
		}
		for _, p := range patterns {
			if p.val == nil {
				continue
			}
			if isRegex(*p.val) && !anchored((*p.val)[1:len(*p.val)-1]) {
				warn(i, "match.%s %s also matches values that merely contain a match (docker_auth regexes search); write /^(?:%s)$/ to match the whole value",
					p.key, *p.val, (*p.val)[1:len(*p.val)-1])
			}
			if ph := bareplaceholder(*p.val); ph != "" {
				warn(i, "match.%s %q contains %q: did you mean \"$%s\"?", p.key, *p.val, ph, ph)
			}
		}
		if len(r.Actions) > 1 && slices.Contains(r.Actions, "*") {
			warn(i, `"*" means every action only when it is the only one; in %q it is just the action named "*"`, r.Actions)
		}
		for _, a := range r.Actions {
			if !slices.Contains(knownActions, a) {
				warn(i, "unknown action %q (the registry asks for %s)", a, strings.Join(knownActions, ", "))
			}
		}
		if catchAll < 0 && m.Account == nil && m.Type == nil && m.Name == nil && m.Service == nil && m.IP == nil && len(m.Labels) == 0 {
			catchAll = i
		}
	}
	return out
}

// anchored reports whether a regex can only match whole values (it starts
// with ^ and ends with $ at top level), or is one of the forms for which
// searching and matching agree.
func anchored(re string) bool {
	if re == ".*" || re == ".+" {
		return true
	}
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return true // New reports it
	}
	return t.Op == syntax.OpConcat && len(t.Sub) >= 2 &&
		t.Sub[0].Op == syntax.OpBeginText && t.Sub[len(t.Sub)-1].Op == syntax.OpEndText
}

// bareplaceholder finds "{account}", "{labels:x}"… not preceded by "$".
func bareplaceholder(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] != '{' || (i > 0 && s[i-1] == '$') {
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return ""
		}
		cand := s[i : i+end+1]
		if _, err := parsePlaceholder(cand[1 : len(cand)-1]); err == nil {
			return cand
		}
	}
	return ""
}
