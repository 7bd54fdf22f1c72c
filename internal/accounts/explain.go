package accounts

import (
	"context"
	"errors"
	"slices"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
)

// Explain answers `wharf acl check` and the admin API's /acl/check: which
// rule of which layer decided, and what a token's scopes kept; Identify
// says where the account of such a check comes from and which labels it
// logs in with.

// Layer is one ACL of the chain, named for explanations ("wharf.yml").
type Layer struct {
	Name string
	ACL  *authz.ACL
}

// Explanation says how a request was decided.
type Explanation struct {
	// Identity is the identity as the rules saw it (current labels).
	Identity auth.Identity
	// Denied, when set, is why the identity gets nothing whatever the rules.
	Denied string
	// Layer names the ACL whose rule decided ("" when no rule matched);
	// Index is that rule's index in it, Rule the rule.
	Layer string
	Index int
	Rule  authz.Rule
	// RuleAllowed is what the rule allowed of the requested actions.
	RuleAllowed []string
	// Token is the access token the identity uses, if any; TokenScope
	// the index of its scope that decided (-1: none matched).
	Token      *Token
	TokenScope int
	// Granted is the final answer.
	Granted []string
}

// Explain decides req as the token server does with layers (the
// configuration's ACL) followed by the database ACL, and says how.
func Explain(ctx context.Context, live *Live, layers []Layer, req auth.Request) (Explanation, error) {
	snap, err := live.Snapshot(ctx)
	if err != nil {
		return Explanation{}, err
	}
	return snap.explain(layers, req, live.Now())
}

// explain is Explain on one snapshot at now.
func (snap *Snapshot) explain(layers []Layer, req auth.Request, now time.Time) (Explanation, error) {
	r := snap.Resolve(req.Identity, now)
	ex := Explanation{Identity: r.Identity, Denied: r.Denied, Index: -1, TokenScope: -1, Token: r.Token, Granted: []string{}}
	if r.Denied != "" {
		return ex, nil
	}
	req.Identity = r.Identity
	all := append(append([]Layer{}, layers...), Layer{Name: "database", ACL: snap.ACL()})
	for _, l := range all {
		i, _, allowed, err := l.ACL.Explain(req)
		if err != nil {
			return ex, err
		}
		if i < 0 {
			continue
		}
		ex.Layer, ex.Index, ex.Rule, ex.RuleAllowed = l.Name, i, l.ACL.Rules()[i], allowed
		ex.Granted = allowed
		break
	}
	if ex.Layer == "" || r.Token == nil {
		return ex, nil
	}
	kept, scope, err := r.Token.Restrict(req, ex.Granted)
	if err != nil && !errors.Is(err, authz.ErrNoMatch) {
		return ex, err
	}
	ex.Granted, ex.TokenScope = kept, scope
	return ex, nil
}

// Where an account of a request being explained comes from.
const (
	KindConfigured = "configured"     // a user of the configuration (or the built-in admin)
	KindDatabase   = "database_user"  // a database user
	KindRobot      = "database_robot" // a database robot account
	KindAnonymous  = "anonymous"      // the anonymous account (no login)
	KindUnknown    = "unknown"        // neither; another backend may know it
)

// Subject is an account as an explanation presents it.
type Subject struct {
	Kind string
	// Shadows is set for a configured account when a database user of
	// the same name exists too: that one is never asked.
	Shadows bool
	// Labels are the account's labels as a login would give them, with
	// the access token's id when one is named.
	Labels auth.Labels
}

// Describe says in words where the account comes from, as `wharf acl
// check` prints it.
func (s Subject) Describe() string {
	who := map[string]string{
		KindConfigured: "an account of the configuration",
		KindDatabase:   "a database user",
		KindRobot:      "a database robot account",
		KindAnonymous:  "the anonymous account (no docker login)",
		KindUnknown:    "not a configured or database account (other backends may know it)",
	}[s.Kind]
	if s.Shadows {
		who += " (a database user of the same name is never asked)"
	}
	return who
}

// Identify says where account comes from and which labels it logs in
// with: configured holds the configuration's accounts and their labels
// (asked first), snap the database's. tokenID, when set, is the access
// token the account is taken to log in with.
func Identify(snap *Snapshot, configured map[string]auth.Labels, account, tokenID string) Subject {
	var s Subject
	if labels, ok := configured[account]; ok {
		// As the chain marks the configured users' logins (and the
		// anonymous account's): their backend is "static".
		s.Kind, s.Labels = KindConfigured, cloneLabels(labels)
		if s.Labels == nil {
			s.Labels = auth.Labels{}
		}
		s.Labels[auth.LabelSource] = []string{"static"}
		_, inDB := snap.Account(account)
		s.Shadows = inDB && account != ""
	} else if a, ok := snap.Account(account); ok {
		s.Kind, s.Labels = KindDatabase, a.Labels(tokenID)
		if a.Robot {
			s.Kind = KindRobot
		}
	} else if account == "" {
		s.Kind = KindAnonymous
	} else {
		s.Kind = KindUnknown
	}
	if tokenID != "" {
		if s.Labels == nil {
			s.Labels = auth.Labels{}
		}
		s.Labels[LabelToken] = []string{tokenID}
	}
	return s
}

func cloneLabels(l auth.Labels) auth.Labels {
	if l == nil {
		return nil
	}
	out := make(auth.Labels, len(l))
	for k, v := range l {
		out[k] = slices.Clone(v)
	}
	return out
}
