package authz

import (
	"context"
	"errors"
	"fmt"

	"wharf/internal/auth"
)

// ErrNoMatch means an authorizer has no opinion on a request (no rule
// matched), so a Chain asks the next one. A caller that gets it from the
// last authorizer denies: default deny, as docker_auth's NoMatch.
var ErrNoMatch = errors.New("authz: no rule matched")

// Authorizer answers one authorization question: which of the requested
// actions (req.Access.Actions) may req.Identity perform on req.Access?
//
// It returns the allowed subset, possibly empty, with a nil error when it
// decided; nil and ErrNoMatch when it has no opinion; any other error when it
// could not decide (the request then fails, it is never granted).
// Implementations are safe for concurrent use.
type Authorizer interface {
	Authorize(ctx context.Context, req auth.Request) (actions []string, err error)
	// Name is a short human-readable name for logs, e.g. "static ACL".
	Name() string
}

// Chain asks its authorizers in order: the first that decides wins, one
// that answers ErrNoMatch passes to the next, and any other error stops the
// chain (docker_auth's behaviour: a failing backend fails the request rather
// than letting a later, possibly more permissive, backend decide). When all
// answer ErrNoMatch, Chain answers ErrNoMatch, which callers treat as deny.
type Chain []Authorizer

var _ Authorizer = Chain(nil)

// Authorize implements Authorizer.
func (c Chain) Authorize(ctx context.Context, req auth.Request) ([]string, error) {
	for i, a := range c {
		actions, err := a.Authorize(ctx, req)
		switch {
		case errors.Is(err, ErrNoMatch):
			continue
		case err != nil:
			return nil, fmt.Errorf("authz: authorizer #%d (%s): %w", i+1, a.Name(), err)
		}
		return actions, nil
	}
	return nil, ErrNoMatch
}

// Name implements Authorizer.
func (c Chain) Name() string { return "chain" }
