package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// AccessToken is a personal access token or a robot account's token, as
// stored: its hash, never the token.
type AccessToken struct {
	// ID is public: it names the token in listings and revocation.
	ID   string
	User string
	// Hash is the hex SHA-256 of the token.
	Hash        string
	Description string
	// Scopes limit what the token's bearer may do, as scope patterns
	// ("repository:team/*:pull"); their meaning is the caller's.
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	LastUsed  time.Time // zero: never
	RevokedAt time.Time // zero: not revoked
}

// CreateAccessToken stores a token for an existing user; ErrNotFound names
// a missing user, ErrExists a duplicate id.
func (s *Store) CreateAccessToken(ctx context.Context, t AccessToken) error {
	if t.ID == "" || t.Hash == "" {
		return errors.New("metadata: create access token: id and hash are required")
	}
	if t.Scopes == nil {
		t.Scopes = []string{}
	}
	scopes, err := jsonText(t.Scopes)
	if err != nil {
		return wrap("create access token", err)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	return s.identityTx(ctx, "create access token", func(c conn) error {
		uid, err := userID(ctx, c, t.User)
		if err != nil {
			return err
		}
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM access_tokens WHERE id = ?`, t.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return existsf("access token %q", t.ID)
		}
		_, err = c.exec(ctx, `INSERT INTO access_tokens
(id, user_id, token_hash, description, scopes, created_at, expires_at, last_used_at, revoked_at)
VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)`, t.ID, uid, t.Hash, t.Description, scopes, unixNano(t.CreatedAt), unixNanoOrZero(t.ExpiresAt))
		return err
	})
}

// ListAccessTokens returns the tokens of user (every user's when user is
// ""), revoked ones included, ordered by user then creation time.
func (s *Store) ListAccessTokens(ctx context.Context, user string) ([]AccessToken, error) {
	q, args := accessTokenColumns, []any(nil)
	if user != "" {
		q += ` WHERE u.name = ?`
		args = append(args, user)
	}
	return s.queryAccessTokens(ctx, q+` ORDER BY u.name, t.created_at, t.id`, args...)
}

// ListActiveAccessTokens returns at most n (n <= 0: all) of the tokens of
// user (every user's when user is "") that are neither revoked nor
// expired at now, whose ids follow after, in byte order of ids: a page
// of a listing, the next one after the last id returned.
func (s *Store) ListActiveAccessTokens(ctx context.Context, user, after string, n int, now time.Time) ([]AccessToken, error) {
	q, args := accessTokenColumns+` WHERE t.revoked_at = 0 AND (t.expires_at = 0 OR t.expires_at > ?) AND t.id > ?`, []any{unixNano(now), after}
	if user != "" {
		q += ` AND u.name = ?`
		args = append(args, user)
	}
	return s.queryAccessTokens(ctx, q+` ORDER BY t.id LIMIT ?`, append(args, limit(n))...)
}

// accessTokenColumns selects what queryAccessTokens reads.
const accessTokenColumns = `SELECT t.id, u.name, t.token_hash, t.description, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
FROM access_tokens t JOIN users u ON u.id = t.user_id`

func (s *Store) queryAccessTokens(ctx context.Context, q string, args ...any) ([]AccessToken, error) {
	rows, err := s.read().query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list access tokens", err)
	}
	defer rows.Close()
	out := []AccessToken{}
	for rows.Next() {
		var (
			t                               AccessToken
			scopes                          string
			created, expires, used, revoked int64
		)
		if err := rows.Scan(&t.ID, &t.User, &t.Hash, &t.Description, &scopes, &created, &expires, &used, &revoked); err != nil {
			return nil, wrap("list access tokens", err)
		}
		if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
			return nil, fmt.Errorf("metadata: access token %s: scopes: %w", t.ID, err)
		}
		t.CreatedAt, t.ExpiresAt, t.LastUsed, t.RevokedAt = fromUnixNano(created), timeOrZero(expires), timeOrZero(used), timeOrZero(revoked)
		out = append(out, t)
	}
	return out, wrap("list access tokens", rows.Err())
}

// RevokeAccessToken revokes a token and returns it. When sessionLabel is
// set, the refresh tokens of the token's user whose labels hold
// sessionLabel: [id] (the sessions opened with this token) are revoked in
// the same transaction. ErrNotFound if there is no such token; revoking a
// revoked token changes nothing and is not an error.
func (s *Store) RevokeAccessToken(ctx context.Context, id, sessionLabel string) (AccessToken, error) {
	var t AccessToken
	err := s.identityTx(ctx, "revoke access token", func(c conn) error {
		var revoked int64
		err := c.queryRow(ctx, `SELECT u.name, t.revoked_at FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?`, id).
			Scan(&t.User, &revoked)
		if errors.Is(notFound(err), ErrNotFound) {
			return notFoundf("access token %q", id)
		}
		if err != nil {
			return err
		}
		t.ID = id
		now := time.Now()
		t.RevokedAt = timeOrZero(revoked)
		if revoked == 0 {
			if _, err := c.exec(ctx, `UPDATE access_tokens SET revoked_at = ? WHERE id = ?`, unixNano(now), id); err != nil {
				return err
			}
			t.RevokedAt = now.UTC()
		}
		if sessionLabel == "" {
			return nil
		}
		return revokeLabeledSessions(ctx, c, t.User, sessionLabel, id, now)
	})
	return t, err
}

// revokeLabeledSessions revokes the live refresh tokens of account whose
// labels hold key: [value].
func revokeLabeledSessions(ctx context.Context, c conn, account, key, value string, now time.Time) error {
	rows, err := c.query(ctx, `SELECT token_hash, labels FROM refresh_tokens WHERE account = ? AND revoked_at = 0`, account)
	if err != nil {
		return err
	}
	var hashes []string
	for rows.Next() {
		var h, text string
		if err := rows.Scan(&h, &text); err != nil {
			rows.Close()
			return err
		}
		var labels map[string][]string
		if json.Unmarshal([]byte(text), &labels) != nil {
			hashes = append(hashes, h) // unreadable: revoke rather than keep
			continue
		}
		for _, v := range labels[key] {
			if v == value {
				hashes = append(hashes, h)
				break
			}
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := c.exec(ctx, `UPDATE refresh_tokens SET revoked_at = ? WHERE token_hash = ?`, unixNano(now), h); err != nil {
			return err
		}
	}
	return nil
}

// TouchAccessTokens records when tokens were last used. It does not change
// the identity generation: a use changes no decision.
func (s *Store) TouchAccessTokens(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return wrap("touch access tokens", s.inTx(ctx, func(c conn) error {
		for id, at := range used {
			if _, err := c.exec(ctx, `UPDATE access_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`,
				unixNano(at), id, unixNano(at)); err != nil {
				return err
			}
		}
		return nil
	}))
}
