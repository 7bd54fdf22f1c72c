package metadata

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SignIn is one account's browser sign-in with one provider: the SHA-256 of
// the registry password Wharf generated (never the password), the labels
// and the provider's token as the sign-in package encodes them (JSON).
type SignIn struct {
	Backend      string
	Account      string
	PasswordHash []byte
	Labels       string
	Token        string
	Created      time.Time
	RevalidateAt time.Time
	ExpiresAt    time.Time
}

// SignIn returns the sign-in of account with backend, or ErrNotFound.
func (s *Store) SignIn(ctx context.Context, backend, account string) (SignIn, error) {
	r := SignIn{Backend: backend, Account: account}
	var created, reval, exp int64
	err := s.read().queryRow(ctx, `SELECT password_hash, labels, token, created_at, revalidate_at, expires_at
FROM sign_ins WHERE backend = ? AND account = ?`, backend, account).Scan(&r.PasswordHash, &r.Labels, &r.Token, &created, &reval, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return SignIn{}, notFoundf("sign-in of %s with %s", account, backend)
	}
	if err != nil {
		return SignIn{}, wrap("sign-in", err)
	}
	r.Created, r.RevalidateAt, r.ExpiresAt = time.Unix(created, 0), time.Unix(reval, 0), time.Unix(exp, 0)
	return r, nil
}

// PutSignIn stores r, replacing the account's sign-in with the backend.
func (s *Store) PutSignIn(ctx context.Context, r SignIn) error {
	if err := checkKey("sign-in backend", r.Backend); err != nil {
		return err
	}
	if err := checkKey("account", r.Account); err != nil {
		return err
	}
	_, err := s.read().exec(ctx, s.d.upsert("sign_ins",
		"backend, account, password_hash, labels, token, created_at, revalidate_at, expires_at", "backend, account",
		"password_hash", "labels", "token", "created_at", "revalidate_at", "expires_at"),
		r.Backend, r.Account, r.PasswordHash, r.Labels, r.Token, r.Created.Unix(), r.RevalidateAt.Unix(), r.ExpiresAt.Unix())
	return wrap("put sign-in", err)
}

// ImportSignIn stores r unless the account has a sign-in with the backend
// already (a newer one, made on this database), and reports whether it did.
func (s *Store) ImportSignIn(ctx context.Context, r SignIn) (bool, error) {
	if err := checkKey("sign-in backend", r.Backend); err != nil {
		return false, err
	}
	if err := checkKey("account", r.Account); err != nil {
		return false, err
	}
	res, err := s.read().exec(ctx, s.d.insertIgnore("sign_ins",
		"backend, account, password_hash, labels, token, created_at, revalidate_at, expires_at", "backend, account"),
		r.Backend, r.Account, r.PasswordHash, r.Labels, r.Token, r.Created.Unix(), r.RevalidateAt.Unix(), r.ExpiresAt.Unix())
	if err != nil {
		return false, wrap("import sign-in", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("import sign-in", err)
}

// UpdateSignIn stores r's labels, token and revalidation time if the
// account's sign-in still has r's password hash (a sign-in in between
// wins), and reports whether it did.
func (s *Store) UpdateSignIn(ctx context.Context, r SignIn) (bool, error) {
	res, err := s.read().exec(ctx, `UPDATE sign_ins SET labels = ?, token = ?, revalidate_at = ?
WHERE backend = ? AND account = ? AND password_hash = ?`, r.Labels, r.Token, r.RevalidateAt.Unix(), r.Backend, r.Account, r.PasswordHash)
	if err != nil {
		return false, wrap("update sign-in", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("update sign-in", err)
}

// DeleteSignIn removes the account's sign-in if it still has hash.
func (s *Store) DeleteSignIn(ctx context.Context, backend, account string, hash []byte) error {
	_, err := s.read().exec(ctx, "DELETE FROM sign_ins WHERE backend = ? AND account = ? AND password_hash = ?", backend, account, hash)
	return wrap("delete sign-in", err)
}

// ErrTooManyAttempts means the backend has max sign-ins in progress.
var ErrTooManyAttempts = errors.New("metadata: too many sign-ins in progress")

// PutSignInAttempt records a sign-in in progress under stateHash until
// expires, after deleting the expired ones; it refuses with
// ErrTooManyAttempts when the backend has max in progress already.
func (s *Store) PutSignInAttempt(ctx context.Context, backend, stateHash, attempt string, expires, now time.Time, max int) error {
	if err := checkKey("sign-in backend", backend); err != nil {
		return err
	}
	if err := checkKey("sign-in state", stateHash); err != nil {
		return err
	}
	err := s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, "DELETE FROM sign_in_attempts WHERE expires_at <= ?", unixNano(now)); err != nil {
			return err
		}
		var n int
		if err := c.queryRow(ctx, "SELECT COUNT(*) FROM sign_in_attempts WHERE backend = ?", backend).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return ErrTooManyAttempts
		}
		_, err := c.exec(ctx, "INSERT INTO sign_in_attempts (backend, state_hash, attempt, expires_at) VALUES (?, ?, ?, ?)",
			backend, stateHash, attempt, unixNano(expires))
		return err
	})
	if errors.Is(err, ErrTooManyAttempts) {
		return err
	}
	return wrap("put sign-in attempt", err)
}

// TakeSignInAttempt removes and returns the attempt recorded under
// stateHash if it has not expired at now; ok is false otherwise. Of two
// callbacks with one state, one takes it.
func (s *Store) TakeSignInAttempt(ctx context.Context, backend, stateHash string, now time.Time) (attempt string, ok bool, err error) {
	err = s.inTx(ctx, func(c conn) error {
		var exp int64
		err := c.queryRow(ctx, "SELECT attempt, expires_at FROM sign_in_attempts WHERE backend = ? AND state_hash = ?"+c.d.forUpdate,
			backend, stateHash).Scan(&attempt, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		res, err := c.exec(ctx, "DELETE FROM sign_in_attempts WHERE backend = ? AND state_hash = ?", backend, stateHash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		ok = n == 1 && exp > unixNano(now)
		return nil
	})
	if err != nil || !ok {
		return "", false, wrap("take sign-in attempt", err)
	}
	return attempt, true, nil
}
