package accounts

import (
	"context"
	"log/slog"

	"wharf/internal/auth"
	"wharf/internal/auth/authz"
)

// The authorizer side of the account database: the rules managed with
// `wharf acl` (ACL), and the Guard that wraps the token server's whole
// authorizer chain to apply the database's view of an identity: current
// teams and labels of database accounts, no access for a disabled or
// removed account or a revoked or expired token, and a token's scopes
// cutting down what the rules grant (grant = ACL ∩ token scopes).

// ACL is the database's ACL rules, first match wins, as authz.ACL,
// reloaded when the identity generation changes.
type ACL struct {
	live *Live
}

var _ authz.Authorizer = (*ACL)(nil)

// NewACL returns the database ACL over live.
func NewACL(live *Live) *ACL { return &ACL{live: live} }

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
// database's view of the identity (see above).
type Guard struct {
	next authz.Authorizer
	live *Live
	log  *slog.Logger
}

var _ authz.Authorizer = (*Guard)(nil)

// NewGuard wraps next.
func NewGuard(next authz.Authorizer, live *Live, log *slog.Logger) *Guard {
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
	// A login's credential stamp is the session's business; no authorizer
	// (an external program, a webhook) is told it.
	req.Identity.Labels = req.Identity.Labels.Without(auth.LabelStamp)
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
