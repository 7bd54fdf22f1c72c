package metadata

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// RefreshToken is a stored refresh token, without the token itself.
type RefreshToken struct {
	Account   string
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

// CreateRefreshToken stores the hash of token for rt.Account.
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
	_, err = s.read().exec(ctx, `INSERT INTO refresh_tokens
(token_hash, account, service, client_id, labels, created_at, expires_at, last_used_at, revoked_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		hashToken(token), rt.Account, rt.Service, rt.ClientID, string(labels), unixNano(now), unixNano(rt.ExpiresAt), unixNano(now))
	return wrap("create refresh token", err)
}

// UseRefreshToken looks a refresh token up, records its use and returns
// it. ErrNotFound when it is unknown, revoked or expired at now.
func (s *Store) UseRefreshToken(ctx context.Context, token string, now time.Time) (*RefreshToken, error) {
	h := hashToken(token)
	var rt RefreshToken
	var labels string
	var created, expires, used int64
	err := s.read().queryRow(ctx, `SELECT account, service, client_id, labels, created_at, expires_at, last_used_at
FROM refresh_tokens WHERE token_hash = ? AND revoked_at = 0 AND expires_at > ?`, h, unixNano(now)).
		Scan(&rt.Account, &rt.Service, &rt.ClientID, &labels, &created, &expires, &used)
	if err != nil {
		return nil, wrap("use refresh token", notFound(err))
	}
	if err := json.Unmarshal([]byte(labels), &rt.Labels); err != nil {
		return nil, wrap("use refresh token", err)
	}
	rt.CreatedAt, rt.ExpiresAt, rt.LastUsed = fromUnixNano(created), fromUnixNano(expires), now.UTC()
	if _, err := s.read().exec(ctx, `UPDATE refresh_tokens SET last_used_at = ? WHERE token_hash = ?`, unixNano(now), h); err != nil {
		return nil, wrap("use refresh token", err)
	}
	return &rt, nil
}

// RevokeRefreshTokens revokes every refresh token of account and returns
// how many it revoked.
func (s *Store) RevokeRefreshTokens(ctx context.Context, account string) (int64, error) {
	res, err := s.read().exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE account = ? AND revoked_at = 0`,
		unixNano(time.Now()), account)
	if err != nil {
		return 0, wrap("revoke refresh tokens", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("revoke refresh tokens", err)
}
