package metadata

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// RefreshToken is a stored refresh token (a session: what `docker login`
// keeps as its identity token), without the token itself.
type RefreshToken struct {
	// ID is the session's public name: the first 16 hex digits of the
	// token's SHA-256 (it tells nothing of the token).
	ID      string
	Account string
	// Source is the backend that admitted the account (auth.LabelSource);
	// "" for sessions stored by versions that did not record it.
	Source string
	// Stamp is a one-way stamp of the credential the account logged in
	// with (authn.Stamp), which the backend compares at each refresh.
	Stamp     string
	Service   string
	ClientID  string
	Labels    map[string][]string
	CreatedAt time.Time
	ExpiresAt time.Time
	LastUsed  time.Time
}

// hashToken is how refresh tokens are keyed: their SHA-256, hex.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// sessionIDLen is the length of a session id, a prefix of the token hash.
const sessionIDLen = 16

// RefreshTokenID is the id a refresh token is stored under.
func RefreshTokenID(token string) string { return hashToken(token)[:sessionIDLen] }

// CreateRefreshToken stores the hash of token for rt.Account (rt.ID is
// ignored: it is derived from the token).
func (s *Store) CreateRefreshToken(ctx context.Context, token string, rt RefreshToken) error {
	if token == "" || rt.Account == "" {
		return errors.New("metadata: create refresh token: token and account are required")
	}
	if err := checkKey("account", rt.Account); err != nil {
		return err
	}
	labels, err := json.Marshal(rt.Labels)
	if err != nil {
		return wrap("create refresh token", err)
	}
	now := time.Now()
	h := hashToken(token)
	_, err = s.read().exec(ctx, `INSERT INTO refresh_tokens
(token_hash, id, account, source, stamp, service, client_id, labels, created_at, expires_at, last_used_at, revoked_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		h, h[:sessionIDLen], rt.Account, rt.Source, rt.Stamp, rt.Service, rt.ClientID, string(labels), unixNano(now), unixNano(rt.ExpiresAt), unixNano(now))
	return wrap("create refresh token", err)
}

// refreshColumns selects what scanRefreshToken reads.
const refreshColumns = `SELECT id, account, source, stamp, service, client_id, labels, created_at, expires_at, last_used_at FROM refresh_tokens`

type scanner interface{ Scan(dest ...any) error }

func scanRefreshToken(row scanner) (RefreshToken, error) {
	var rt RefreshToken
	var labels string
	var created, expires, used int64
	if err := row.Scan(&rt.ID, &rt.Account, &rt.Source, &rt.Stamp, &rt.Service, &rt.ClientID, &labels, &created, &expires, &used); err != nil {
		return rt, err
	}
	if err := json.Unmarshal([]byte(labels), &rt.Labels); err != nil {
		return rt, err
	}
	rt.CreatedAt, rt.ExpiresAt, rt.LastUsed = fromUnixNano(created), fromUnixNano(expires), fromUnixNano(used)
	return rt, nil
}

// UseRefreshToken looks a refresh token up, records its use and returns
// it. ErrNotFound when it is unknown, revoked or expired at now.
func (s *Store) UseRefreshToken(ctx context.Context, token string, now time.Time) (*RefreshToken, error) {
	h := hashToken(token)
	rt, err := scanRefreshToken(s.read().queryRow(ctx, refreshColumns+` WHERE token_hash = ? AND revoked_at = 0 AND expires_at > ?`, h, unixNano(now)))
	if err != nil {
		return nil, wrap("use refresh token", notFound(err))
	}
	rt.LastUsed = now.UTC()
	if _, err := s.read().exec(ctx, `UPDATE refresh_tokens SET last_used_at = ? WHERE token_hash = ?`, unixNano(now), h); err != nil {
		return nil, wrap("use refresh token", err)
	}
	return &rt, nil
}

// ListRefreshTokens returns the live sessions (neither revoked nor expired
// at now) of account, or of everyone when account is "", newest first.
func (s *Store) ListRefreshTokens(ctx context.Context, account string, now time.Time) ([]RefreshToken, error) {
	q, args := refreshColumns+` WHERE revoked_at = 0 AND expires_at > ?`, []any{unixNano(now)}
	if account != "" {
		q, args = q+` AND account = ?`, append(args, account)
	}
	return s.queryRefreshTokens(ctx, q+` ORDER BY created_at DESC, id`, args...)
}

// ListRefreshTokensAfter returns at most n (n <= 0: all) of everyone's
// live sessions at now whose ids follow after, in byte order of ids (on
// the index refresh_tokens_id): a page of a listing, the next one after
// the last id returned.
func (s *Store) ListRefreshTokensAfter(ctx context.Context, after string, n int, now time.Time) ([]RefreshToken, error) {
	return s.queryRefreshTokens(ctx, refreshColumns+` WHERE revoked_at = 0 AND expires_at > ? AND id > ? ORDER BY id LIMIT ?`,
		unixNano(now), after, limit(n))
}

func (s *Store) queryRefreshTokens(ctx context.Context, q string, args ...any) ([]RefreshToken, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list refresh tokens", err)
	}
	defer rows.Close()
	out := []RefreshToken{}
	for rows.Next() {
		rt, err := scanRefreshToken(rows)
		if err != nil {
			return nil, wrap("list refresh tokens", err)
		}
		out = append(out, rt)
	}
	return out, wrap("list refresh tokens", rows.Err())
}

// RevokeRefreshToken revokes the live session id and returns it;
// ErrNotFound when there is no such live session.
func (s *Store) RevokeRefreshToken(ctx context.Context, id string, now time.Time) (*RefreshToken, error) {
	var rt RefreshToken
	err := s.inTx(ctx, func(c conn) error {
		var err error
		rt, err = scanRefreshToken(c.queryRow(ctx, refreshColumns+` WHERE id = ? AND revoked_at = 0 AND expires_at > ?`, id, unixNano(now)))
		if err != nil {
			if errors.Is(notFound(err), ErrNotFound) {
				return notFoundf("session %q", id)
			}
			return err
		}
		_, err = c.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, unixNano(now), id)
		return err
	})
	if err != nil {
		return nil, wrapIdentity("revoke refresh token", err)
	}
	return &rt, nil
}

// RevokeRefreshTokens revokes every refresh token of account and returns
// how many it revoked.
func (s *Store) RevokeRefreshTokens(ctx context.Context, account string) (int64, error) {
	return s.revokeRefreshTokens(ctx, `account = ? AND `, account)
}

// RevokeAllRefreshTokens revokes every refresh token of every account and
// returns how many it revoked: everyone logs in again.
func (s *Store) RevokeAllRefreshTokens(ctx context.Context) (int64, error) {
	return s.revokeRefreshTokens(ctx, ``)
}

func (s *Store) revokeRefreshTokens(ctx context.Context, where string, args ...any) (int64, error) {
	res, err := s.read().exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE `+where+`revoked_at = 0`,
		append([]any{unixNano(time.Now())}, args...)...)
	if err != nil {
		return 0, wrap("revoke refresh tokens", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("revoke refresh tokens", err)
}

// PurgeRefreshTokens deletes the sessions that expired, or were revoked,
// before before, and returns how many it deleted: they can never be used
// again, and a session is stored at every docker login.
func (s *Store) PurgeRefreshTokens(ctx context.Context, before time.Time) (int64, error) {
	b := unixNano(before)
	res, err := s.read().exec(ctx, `DELETE FROM refresh_tokens WHERE expires_at < ? OR (revoked_at > 0 AND revoked_at < ?)`, b, b)
	if err != nil {
		return 0, wrap("purge refresh tokens", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("purge refresh tokens", err)
}
