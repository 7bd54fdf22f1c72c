package dbacl

import (
	"context"
	"errors"
	"log/slog"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
	"wharf/internal/identity"
)

// ACL is the database's ACL rules, first match wins, as authz.ACL.
type ACL struct {
	live *identity.Live
}

var _ authz.Authorizer = (*ACL)(nil)

// New returns the database ACL over live.
func New(live *identity.Live) *ACL { return &ACL{live: live} }

// Authorize implements authz.Authorizer.
func (a *ACL) Authorize(ctx context.Context, req auth.Request) ([]string, error) {
	snap, err := a.live.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return snap.ACL().Authorize(ctx, req)
}

// Name implements authz.Authorizer.
func (a *ACL) Name() string { return "database ACL" }

// Guard wraps an authorizer (the token server's whole chain) with the
// database's view of the identity; see the package documentation.
type Guard struct {
	next authz.Authorizer
	live *identity.Live
	log  *slog.Logger
}

var _ authz.Authorizer = (*Guard)(nil)

// NewGuard wraps next.
func NewGuard(next authz.Authorizer, live *identity.Live, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Guard{next: next, live: live, log: log.With("component", "authz")}
}

// Authorize implements authz.Authorizer. A denied identity gets an empty
// grant (a decision, not ErrNoMatch), so no later authorizer is asked.
func (g *Guard) Authorize(ctx context.Context, req auth.Request) ([]string, error) {
	snap, err := g.live.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	r := snap.Resolve(req.Identity, g.live.Now())
	if r.Denied != "" {
		g.log.InfoContext(ctx, "access denied", "account", req.Identity.Account, "scope", req.Access.String(), "reason", r.Denied)
		return []string{}, nil
	}
	req.Identity = r.Identity
	allowed, err := g.next.Authorize(ctx, req)
	if err != nil || r.Token == nil {
		return allowed, err
	}
	g.live.TokenUsed(ctx, r.Token.ID)
	kept, _, err := r.Token.Restrict(req, allowed)
	return kept, err
}

// Name implements authz.Authorizer.
func (g *Guard) Name() string { return g.next.Name() }

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
	Token      *identity.Token
	TokenScope int
	// Granted is the final answer.
	Granted []string
}

// Explain decides req as the token server does with layers (the
// configuration's ACL) followed by the database ACL, and says how.
func Explain(ctx context.Context, live *identity.Live, layers []Layer, req auth.Request) (Explanation, error) {
	snap, err := live.Snapshot(ctx)
	if err != nil {
		return Explanation{}, err
	}
	r := snap.Resolve(req.Identity, live.Now())
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
