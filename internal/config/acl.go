package config

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"wharf/internal/auth/authz"
)

// ACL is the acl: section: rules in docker_auth's shape, asked before the
// database's. authz owns their grammar; config only embeds them, so that
// they are parsed, and every problem reported, when the file is read.
type ACL struct {
	// Rules in order; the first that matches a request decides.
	Rules []authz.Rule
	// Given is whether the configuration has an acl: at all. Without one
	// `wharf serve` lets only admin in and `wharf auth` denies everything;
	// acl: [] denies everything in both.
	Given bool
}

// UnmarshalYAML parses the rules strictly (authz.ParseACL). The problems
// are returned as a *yaml.TypeError so that they are reported together
// with the rest of the file's.
func (a *ACL) UnmarshalYAML(n *yaml.Node) error {
	rules, err := authz.ParseACL(n)
	if err != nil {
		te := &yaml.TypeError{}
		for _, e := range flatten(err) {
			var pe *authz.ParseError
			if errors.As(e, &pe) && pe.Line > 0 {
				te.Errors = append(te.Errors, fmt.Sprintf("line %d: acl: %s", pe.Line, pe.Msg))
			} else {
				te.Errors = append(te.Errors, "acl: "+strings.TrimPrefix(e.Error(), "authz: "))
			}
		}
		return te
	}
	*a = ACL{Rules: rules, Given: true}
	return nil
}

// validate compiles the rules as the token server will (patterns,
// placeholders, addresses), so that a bad rule is found before anything
// starts. The rules of a Wharf registry (every role but a token server
// alone, whose docker_auth rules may grant other services' actions) must
// name actions the registry asks for.
func (a ACL) validate(role string) []error {
	var errs []error
	if _, err := authz.New(a.Rules); err != nil {
		for _, e := range flatten(err) {
			errs = append(errs, errors.New("acl: "+strings.TrimPrefix(e.Error(), "authz: ")))
		}
	}
	if role == RoleAuth {
		return errs
	}
	for i, r := range a.Rules {
		err := authz.CheckActions(r.Actions)
		if err == nil {
			continue
		}
		for _, e := range flatten(err) {
			where := fmt.Sprintf("#%d", i)
			if r.Line > 0 {
				where += fmt.Sprintf(" (line %d)", r.Line)
			}
			errs = append(errs, fmt.Errorf("acl: rule %s: actions: %s", where, strings.TrimPrefix(e.Error(), "authz: ")))
		}
	}
	return errs
}

// flatten returns the errors an errors.Join holds, or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
