package accounts

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/metadata"
)

// RuleFromStore turns a stored rule into the ACL engine's form. The rule's
// comment names its database id and position, so that explanations and
// errors point at it.
func RuleFromStore(r metadata.ACLRule) authz.Rule {
	m := authz.Match{Account: r.Account, Type: r.Type, Name: r.Name, Service: r.Service, IP: r.IP}
	if r.Labels != nil {
		m.Labels = maps.Clone(r.Labels)
	}
	return authz.Rule{Match: m, Actions: slices.Clone(r.Actions), Comment: r.Comment}
}

// ruleToStore is the inverse of RuleFromStore.
func ruleToStore(r authz.Rule) metadata.ACLRule {
	m := r.Match
	out := metadata.ACLRule{Account: m.Account, Type: m.Type, Name: m.Name, Service: m.Service, IP: m.IP,
		Actions: slices.Clone(r.Actions), Comment: r.Comment}
	if m.Labels != nil {
		out.Labels = maps.Clone(m.Labels)
	}
	if out.Actions == nil {
		out.Actions = []string{}
	}
	return out
}

// CheckRule compiles a rule alone, so a rule that could never work is
// refused before it reaches the database.
func CheckRule(r authz.Rule) error {
	if _, err := authz.New([]authz.Rule{r}); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "authz: rule #0: "))
	}
	for _, a := range r.Actions {
		if a == "" || strings.ContainsAny(a, " \t\r\n,") {
			return fmt.Errorf("%w: action %q: actions are words such as pull, push, delete or *", ErrInvalid, a)
		}
	}
	// A rule granting "pul" would grant nothing, silently.
	if err := authz.CheckActions(r.Actions); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.ReplaceAll(err.Error(), "authz: ", ""))
	}
	return nil
}

// compileRules compiles the stored rules in order; an error names the
// rule by id and position.
func compileRules(stored []metadata.ACLRule) (*authz.ACL, []authz.Rule, error) {
	rules := make([]authz.Rule, len(stored))
	var errs []error
	for i, r := range stored {
		rules[i] = RuleFromStore(r)
		if _, err := authz.New(rules[i : i+1]); err != nil {
			errs = append(errs, fmt.Errorf("accounts: database ACL rule id %d (position %d): %w", r.ID, r.Position, err))
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	acl, err := authz.New(rules)
	return acl, rules, err
}

// ParseScopes validates the scopes of a token: "type:name:actions", where
// the name is an ACL pattern (a glob such as team/*, or a /regex/) and the
// actions a comma-separated list or *. They compile to rules that decide,
// first match wins, which part of what the ACL grants the token's bearer
// keeps; a request no scope matches gets nothing.
func ParseScopes(scopes []string) (*authz.ACL, error) {
	if len(scopes) == 0 {
		return nil, fmt.Errorf("%w: a token needs at least one scope, such as repository:team/app:pull", ErrInvalid)
	}
	rules := make([]authz.Rule, 0, len(scopes))
	for _, s := range scopes {
		a, err := auth.ParseScope(s)
		if err != nil {
			return nil, fmt.Errorf("%w: scope %q: want type:name:actions such as repository:team/*:pull,push (%v)", ErrInvalid, s, err)
		}
		if len(a.Actions) == 0 {
			return nil, fmt.Errorf("%w: scope %q allows no action; name some, e.g. %s:pull", ErrInvalid, s, strings.TrimSuffix(s, ":"))
		}
		typ, name := a.Type, a.Name
		rules = append(rules, authz.Rule{Match: authz.Match{Type: &typ, Name: &name}, Actions: a.Actions, Comment: "scope " + s})
	}
	acl, err := authz.New(rules)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return acl, nil
}
