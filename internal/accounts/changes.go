package accounts

import "context"

// Change is one mutation of an account object that the service was asked
// for, handed to Options.Changed when it has succeeded or failed. It names
// the object, never a password or a token.
type Change struct {
	// Action is what was asked: "user.create", "user.passwd",
	// "user.disable", "user.enable", "user.labels", "user.remove",
	// "team.create", "team.remove", "team.member.add",
	// "team.member.remove", "rule.add", "rule.remove", "rule.move",
	// "token.create", "token.revoke", "session.revoke".
	Action string
	// Target names the object: "user alice", "team ops", "rule 12",
	// "token 3f2a…", "session 0123…".
	Target string
	// Err is nil when the change was made.
	Err error
}

// changed reports a change to Options.Changed. Methods call it deferred
// with a pointer to their error result, so every return is reported.
func (s *Service) changed(ctx context.Context, action, target string, err *error) {
	if s.opts.Changed == nil {
		return
	}
	s.opts.Changed(ctx, Change{Action: action, Target: target, Err: *err})
}

// Actor is who asks the service for a change: the admin API's caller, the
// CLI's operating-system user. Its Source names the interface ("adminapi",
// "cli"), Addr the client's address when there is one.
type Actor struct {
	Name, Source, Addr string
}

type actorKey struct{}

// WithActor returns a context whose changes are reported as a's.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor put in ctx.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}
