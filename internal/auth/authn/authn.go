package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/gate"
)

// Result is an authenticator's answer, docker_auth's tri-state.
type Result int

const (
	// WrongPassword: the backend knows the user and the password is wrong
	// (or the backend denies the user). The chain stops and denies. It is
	// the zero value so that a forgotten assignment denies.
	WrongPassword Result = iota
	// Accepted: the credentials are valid; the labels describe the user.
	Accepted
	// NoMatch: the backend does not know the user; ask the next one.
	NoMatch
)

func (r Result) String() string {
	switch r {
	case WrongPassword:
		return "wrong password"
	case Accepted:
		return "accepted"
	case NoMatch:
		return "no match"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Authenticator checks a user name and password. The anonymous client
// (no credentials) asks with user "" and an empty password.
//
// Authenticate returns Accepted with the user's labels, WrongPassword, or
// NoMatch; an error means the backend could not decide (its database is
// down, its file is unreadable) and is never a grant. Implementations are
// safe for concurrent use, take as long for an unknown user as for a wrong
// password when they compare password hashes, and never put the password in
// an error. The returned labels belong to the caller.
type Authenticator interface {
	Authenticate(ctx context.Context, user string, password auth.Secret) (Result, auth.Labels, error)
	// Name is a short human-readable name for logs, e.g. "static".
	Name() string
}

// Chain asks its backends in order, as docker_auth does:
//
//   - Accepted from a backend admits the user with that backend's labels,
//     marked with the backend's name as auth.LabelSource (which rules can
//     require, and where a refresh token is confirmed). Reserved labels
//     (wharf.*) a backend returns are dropped, but for the two that only
//     ever narrow what the account gets (auth.LabelToken, auth.LabelStamp):
//     a directory attribute or a program's answer cannot claim another
//     source;
//   - WrongPassword stops the chain: a user known to one backend is never
//     tried against the next with the same password;
//   - NoMatch asks the next backend;
//   - an error stops the chain too. It is logged, and returned wrapped with
//     WrongPassword, so that the token server fails the request (docker_auth
//     answers 500) rather than let a later backend decide for a user whose
//     own backend is down.
//
// When every backend answers NoMatch, so does the Chain: callers admit
// only on Accepted, so the default is deny.
type Chain struct {
	backends []Authenticator
	log      *slog.Logger
}

var _ Authenticator = (*Chain)(nil)

// NewChain returns a chain of backends; log receives backend errors (nil
// discards them).
func NewChain(log *slog.Logger, backends ...Authenticator) *Chain {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Chain{backends: backends, log: log.With("component", "authn")}
}

// Authenticate implements Authenticator.
func (c *Chain) Authenticate(ctx context.Context, user string, password auth.Secret) (Result, auth.Labels, error) {
	for i, b := range c.backends {
		if err := ctx.Err(); err != nil {
			return WrongPassword, nil, fmt.Errorf("authn: %w", err)
		}
		res, labels, err := b.Authenticate(ctx, user, password)
		if err == nil && res != Accepted && res != WrongPassword && res != NoMatch {
			err = fmt.Errorf("invalid result %v", res)
		}
		if err != nil {
			// A full password gate is no backend failure, and logs
			// itself once a minute rather than once per login.
			if !errors.Is(err, gate.ErrBusy) {
				c.log.WarnContext(ctx, "authenticator failed; denying", "backend", b.Name(), "position", i+1, "user", user, "err", err)
			}
			return WrongPassword, nil, fmt.Errorf("authn: %s: %w", b.Name(), err)
		}
		switch res {
		case Accepted:
			return Accepted, withSource(dropReserved(labels), SourceOf(b)), nil
		case WrongPassword:
			return WrongPassword, nil, nil
		}
	}
	return NoMatch, nil, nil
}

// Name implements Authenticator.
func (c *Chain) Name() string {
	names := make([]string, len(c.backends))
	for i, b := range c.backends {
		names[i] = b.Name()
	}
	return "chain(" + strings.Join(names, ", ") + ")"
}

// CloneLabels returns a deep copy, so that a backend's labels cannot be
// changed by a caller (and a cached copy not by either).
func CloneLabels(l auth.Labels) auth.Labels {
	if l == nil {
		return nil
	}
	out := make(auth.Labels, len(l))
	for k, v := range l {
		out[k] = append([]string(nil), v...)
	}
	return out
}
