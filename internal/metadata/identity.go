package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrExists means a user or team of that name, or a member of a team,
// already exists.
var ErrExists = errors.New("metadata: already exists")

// ErrIdentityChanged means an identity change made under IfIdentityAt was
// not committed: another change committed since the generation was read.
var ErrIdentityChanged = errors.New("metadata: users, teams, rules or tokens changed meanwhile")

// identityAtKey is the context key of IfIdentityAt.
type identityAtKey struct{}

// IfIdentityAt returns a context under which an identity change (of users,
// teams, ACL rules or access tokens) commits only if the identity
// generation is still gen, in the same transaction as the change, and
// otherwise fails with ErrIdentityChanged. A check made over what was read
// at generation gen — "is another administrator left?" — and the write it
// allows are then one atomic step: the caller reads again and retries.
func IfIdentityAt(ctx context.Context, gen int64) context.Context {
	return context.WithValue(ctx, identityAtKey{}, gen)
}

// IdentityGeneration returns the identity generation: a counter that every
// change to users, teams, ACL rules and access tokens increases in its own
// transaction. A reader that saw generation g and reads g again has seen
// every change. Recording a token's last use does not change it.
func (s *Store) IdentityGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := s.read().queryRow(ctx, "SELECT generation FROM identity_generation WHERE id = 1").Scan(&g)
	return g, wrap("identity generation", err)
}

// TouchIdentity moves the identity generation without changing anything
// else: running servers read users, rules and the files that go with them
// (the built-in admin's password) again on their next request.
func (s *Store) TouchIdentity(ctx context.Context) error {
	return s.identityTx(ctx, "touch identity", func(conn) error { return nil })
}

// identityTx runs fn in a transaction that also bumps the identity
// generation, so that no change is committed without it. The bump comes
// first: its row lock queues identity changes one behind the other on
// PostgreSQL and MySQL, so that fn's reads ("is the name taken?") see what
// the change before it committed, and a race of two creations of one name
// ends in ErrExists rather than a unique-violation error. (SQLite has one
// writer anyway.) Identity changes are rare; the queue costs nothing.
//
// Under IfIdentityAt the bump is conditional on the expected generation:
// on PostgreSQL and MySQL a change that committed first makes it match no
// row once its lock is released, so that exactly one of two racing
// changes read at one generation commits.
func (s *Store) identityTx(ctx context.Context, op string, fn func(c conn) error) error {
	err := s.inTx(ctx, func(c conn) error {
		if gen, ok := ctx.Value(identityAtKey{}).(int64); ok {
			res, err := c.exec(ctx, "UPDATE identity_generation SET generation = generation + 1 WHERE id = 1 AND generation = ?", gen)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return cmpErr(err, ErrIdentityChanged)
			}
			return fn(c)
		}
		if _, err := c.exec(ctx, "UPDATE identity_generation SET generation = generation + 1 WHERE id = 1"); err != nil {
			return err
		}
		return fn(c)
	})
	return wrapIdentity(op, err)
}

// cmpErr is err, or else fallback.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// wrapIdentity is wrap for identity operations, whose sentinels carry their
// own context.
func wrapIdentity(op string, err error) error {
	if err == nil || errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrIdentityChanged) {
		return err
	}
	return fmt.Errorf("metadata: %s: %w", op, err)
}

// notFoundf returns ErrNotFound naming what was not found.
func notFoundf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotFound}, args...)...)
}

// existsf returns ErrExists naming what exists.
func existsf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrExists}, args...)...)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// jsonText encodes v for a JSON text column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// timeOrZero reads a unix-nano column where 0 means never.
func timeOrZero(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromUnixNano(n)
}

// unixNanoOrZero writes a time where the zero time means never.
func unixNanoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return unixNano(t)
}
