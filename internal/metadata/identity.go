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
func (s *Store) identityTx(ctx context.Context, op string, fn func(c conn) error) error {
	err := s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, "UPDATE identity_generation SET generation = generation + 1 WHERE id = 1"); err != nil {
			return err
		}
		return fn(c)
	})
	return wrapIdentity(op, err)
}

// wrapIdentity is wrap for identity operations, whose sentinels carry their
// own context.
func wrapIdentity(op string, err error) error {
	if err == nil || errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) {
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
