package metadata

import (
	"context"
	"errors"
	"time"
)

// TokenKey is one token-signing key of the set replicas share.
type TokenKey struct {
	// Seq orders the keys: the highest that has not retired signs.
	Seq int64
	// KID is the key's id in tokens and the JWKS (RFC 7638 thumbprint).
	KID string
	// PrivateKey is the PKCS #8 PEM of the key; Certificate its
	// self-signed certificate's PEM (the x5c of its tokens).
	PrivateKey  string
	Certificate string
	Created     time.Time
	// RetireAt is when the key stops verifying: zero for the key that
	// signs, its last token's expiry for one a rotation replaced.
	RetireAt time.Time
}

// Retired reports whether k no longer verifies at now.
func (k TokenKey) Retired(now time.Time) bool { return !k.RetireAt.IsZero() && !now.Before(k.RetireAt) }

// ErrKeyRace means another process added a token key at the same time:
// read the set again.
var ErrKeyRace = errors.New("metadata: another process added a token-signing key at the same time")

// TokenKeys returns the keys that have not retired at now, newest first.
func (s *Store) TokenKeys(ctx context.Context, now time.Time) ([]TokenKey, error) {
	rows, err := s.read().query(ctx, `SELECT seq, kid, private_key, certificate, created_at, retire_at FROM token_keys
WHERE retire_at = 0 OR retire_at > ? ORDER BY seq DESC`, unixNano(now))
	if err != nil {
		return nil, wrap("token keys", err)
	}
	defer rows.Close()
	var keys []TokenKey
	for rows.Next() {
		var (
			k                 TokenKey
			created, retireAt int64
		)
		if err := rows.Scan(&k.Seq, &k.KID, &k.PrivateKey, &k.Certificate, &created, &retireAt); err != nil {
			return nil, wrap("token keys", err)
		}
		k.Created = fromUnixNano(created)
		if retireAt != 0 {
			k.RetireAt = fromUnixNano(retireAt)
		}
		keys = append(keys, k)
	}
	return keys, wrap("token keys", rows.Err())
}

// TokenKeysVersion returns a figure that changes whenever a key is added:
// the highest seq (0 without keys). A replica compares it to decide whether
// to read the set again.
func (s *Store) TokenKeysVersion(ctx context.Context) (int64, error) {
	var seq int64
	err := s.read().queryRow(ctx, "SELECT COALESCE(MAX(seq), 0) FROM token_keys").Scan(&seq)
	return seq, wrap("token keys version", err)
}

// AddTokenKey adds k as the signing key when the set's newest key is still
// after (0: the set is empty), and gives every key before it retire_at =
// retireAt, in one transaction; it deletes the keys retired before now. When
// another process added a key since after was read it adds nothing and
// returns ErrKeyRace: the caller reads the set again (the first start of
// two replicas then agrees on one key). k.Seq is ignored.
func (s *Store) AddTokenKey(ctx context.Context, after int64, k TokenKey, retireAt, now time.Time) (TokenKey, error) {
	if err := checkKey("key id", k.KID); err != nil {
		return TokenKey{}, err
	}
	k.Seq = after + 1
	err := s.inTx(ctx, func(c conn) error {
		var cur int64
		if err := c.queryRow(ctx, "SELECT COALESCE(MAX(seq), 0) FROM token_keys").Scan(&cur); err != nil {
			return err
		}
		if cur != after {
			return ErrKeyRace
		}
		res, err := c.exec(ctx, c.d.insertIgnore("token_keys", "seq, kid, private_key, certificate, created_at, retire_at", "seq"),
			k.Seq, k.KID, k.PrivateKey, k.Certificate, unixNano(k.Created), 0)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrKeyRace
		}
		if _, err := c.exec(ctx, "UPDATE token_keys SET retire_at = ? WHERE seq < ? AND retire_at = 0", unixNano(retireAt), k.Seq); err != nil {
			return err
		}
		_, err = c.exec(ctx, "DELETE FROM token_keys WHERE retire_at <> 0 AND retire_at <= ?", unixNano(now))
		return err
	})
	if errors.Is(err, ErrKeyRace) {
		return TokenKey{}, ErrKeyRace
	}
	if err != nil {
		return TokenKey{}, wrap("add token key", err)
	}
	return k, nil
}
