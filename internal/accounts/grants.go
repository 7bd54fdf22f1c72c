package accounts

import (
	"context"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"

	"wharf/internal/auth"
)

// What a new access token would be granted: the ACL decides for its user
// and the token's scopes only narrow that down, so a token whose scopes
// name what no rule grants its user works for nothing. `wharf token
// create` and the admin API warn about it (the token is still created: a
// rule may come later).

// Shortfall is one scope of a token the ACL does not fully grant its user.
type Shortfall struct {
	User  string
	Scope auth.Access // as the token names it
	// Checked is the name the ACL was asked about: the scope's own when
	// it names one repository, else a name its pattern covers.
	Checked string
	// Missing are the actions of the scope nothing grants.
	Missing []string
}

// String says what is missing and the rule that would grant it.
func (f Shortfall) String() string {
	what := f.Scope.Type + " " + f.Scope.Name
	if f.Checked != f.Scope.Name {
		what += fmt.Sprintf(" (checked as %s, a name the pattern covers; a rule for only some of its names is not seen, so try one with `wharf acl check`)", f.Checked)
	}
	missing, actions := strings.Join(f.Missing, ", "), strings.Join(f.Missing, ",")
	if strings.Contains(actions, "*") { // every action; quoted from the shell
		missing, actions = "access (*)", "'"+actions+"'"
	}
	return fmt.Sprintf("the ACL grants %s no %s on %s, so this token cannot either; a rule that would: wharf acl add --account %s --type %s --name '%s' --actions %s",
		f.User, missing, what, f.User, f.Scope.Type, f.Scope.Name, actions)
}

// Warnings renders shortfalls as TokenView.Warnings, nil for none.
func Warnings(shortfalls []Shortfall) []string {
	var out []string
	for _, f := range shortfalls {
		out = append(out, f.String())
	}
	return out
}

// repositoryActions are what a repository scope's "*" stands for.
var repositoryActions = []string{"pull", "push", "delete"}

// TokenShortfalls decides each scope a token for user would hold as the
// token server would (the configured layers, then the database's rules:
// `wharf acl check`'s evaluation) and returns those the ACL does not fully
// grant. A scope naming a pattern is checked with one name it covers
// (SampleName).
func (s *Service) TokenShortfalls(ctx context.Context, user string, scopes []string) ([]Shortfall, error) {
	snap, err := Load(ctx, s.store, nil)
	if err != nil {
		return nil, err
	}
	a, ok := snap.Account(user)
	if !ok {
		return nil, nil
	}
	var out []Shortfall
	for _, raw := range scopes {
		scope, err := auth.ParseScope(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: scope %q: %v", ErrInvalid, raw, err)
		}
		asked := scope.Actions
		if scope.Type == "repository" && slices.Equal(asked, []string{"*"}) {
			asked = repositoryActions
		}
		name := SampleName(scope.Name)
		ex, err := snap.explain(s.opts.Layers, auth.Request{Identity: auth.Identity{Account: user, Labels: a.Labels("")},
			Service: s.opts.TokenService, Access: auth.Access{Type: scope.Type, Name: name, Actions: asked}}, s.opts.Now())
		if err != nil {
			return nil, err
		}
		var missing []string
		for _, act := range asked {
			if !slices.Contains(ex.Granted, act) && !slices.Contains(ex.Granted, "*") {
				missing = append(missing, act)
			}
		}
		if len(missing) > 0 {
			out = append(out, Shortfall{User: user, Scope: scope, Checked: name, Missing: missing})
		}
	}
	return out, nil
}

// SampleName returns a name the token scope pattern p matches: p itself
// when it names one thing, else the pattern with each wildcard filled in
// (a glob's * and ? with "x", a class with its first member; a /regex/'s
// shortest match). The ACL cannot say whether a rule covers every name of
// a pattern, so one covered name stands for them all.
func SampleName(p string) string {
	if len(p) > 2 && p[0] == '/' && p[len(p)-1] == '/' {
		re, err := syntax.Parse(p[1:len(p)-1], syntax.Perl)
		if err != nil {
			return p
		}
		var b strings.Builder
		sampleRegexp(&b, re.Simplify())
		return b.String()
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*', '?':
			b.WriteByte('x')
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteByte(p[i])
			}
		case '[':
			j := strings.IndexByte(p[i+1:], ']')
			if j < 0 {
				return p
			}
			class := p[i+1 : i+1+j]
			if class == "" || class[0] == '^' {
				b.WriteByte('x') // a negated class: any other letter will do
			} else {
				b.WriteByte(class[0])
			}
			i += j + 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sampleRegexp writes the shortest string re matches, taking the first
// choice of every alternation and class.
func sampleRegexp(b *strings.Builder, re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) > 0 {
			b.WriteRune(re.Rune[0])
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture, syntax.OpPlus:
		sampleRegexp(b, re.Sub[0])
	case syntax.OpRepeat:
		for range re.Min {
			sampleRegexp(b, re.Sub[0])
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			sampleRegexp(b, sub)
		}
	case syntax.OpAlternate:
		sampleRegexp(b, re.Sub[0])
	}
}
