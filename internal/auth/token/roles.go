package token

import (
	"context"

	"wharf/internal/auth"
)

// Issuing signs tokens: an *Issuer, or a key set that changes while the
// server runs (a rotation on another replica).
type Issuing interface {
	IssueFor(ctx context.Context, subject Subject, audience string, access []auth.Access) (Token, error)
}

// Verifying checks tokens: a *Verifier, or a key set that changes while the
// server runs.
type Verifying interface {
	Verify(raw string) (*Claims, error)
}

var (
	_ Issuing   = (*Issuer)(nil)
	_ Verifying = (*Verifier)(nil)
)
