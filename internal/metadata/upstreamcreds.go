package metadata

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// UpstreamCredential is the stored credential of one pull-through upstream.
// Sealed is the password as the caller sealed it: this package never sees
// it in clear.
type UpstreamCredential struct {
	Upstream string
	Username string
	Sealed   []byte
	// KeyID names the key Sealed was sealed with (a fingerprint).
	KeyID   string
	Updated time.Time
}

// PutUpstreamCredential stores c, replacing the upstream's previous one.
func (s *Store) PutUpstreamCredential(ctx context.Context, c UpstreamCredential) error {
	if err := checkKey("upstream name", c.Upstream); err != nil {
		return wrap("put upstream credential", err)
	}
	err := s.inTx(ctx, func(tx conn) error {
		res, err := tx.exec(ctx, `UPDATE upstream_credentials SET username = ?, sealed = ?, key_id = ?, updated_at = ? WHERE upstream = ?`,
			c.Username, c.Sealed, c.KeyID, unixNano(c.Updated), c.Upstream)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO upstream_credentials (upstream, username, sealed, key_id, updated_at) VALUES (?, ?, ?, ?, ?)`,
			c.Upstream, c.Username, c.Sealed, c.KeyID, unixNano(c.Updated))
		return err
	})
	return wrap("put upstream credential", err)
}

// UpstreamCredentialOf returns the credential of upstream; ErrNotFound when
// none is stored.
func (s *Store) UpstreamCredentialOf(ctx context.Context, upstream string) (UpstreamCredential, error) {
	c := UpstreamCredential{Upstream: upstream}
	var updated int64
	err := s.read().queryRow(ctx, `SELECT username, sealed, key_id, updated_at FROM upstream_credentials WHERE upstream = ?`, upstream).
		Scan(&c.Username, &c.Sealed, &c.KeyID, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return UpstreamCredential{}, ErrNotFound
	}
	if err != nil {
		return UpstreamCredential{}, wrap("upstream credential", err)
	}
	c.Updated = fromUnixNano(updated)
	return c, nil
}

// UpstreamCredentials returns every stored credential, by upstream name.
func (s *Store) UpstreamCredentials(ctx context.Context) ([]UpstreamCredential, error) {
	rows, err := s.read().query(ctx, `SELECT upstream, username, sealed, key_id, updated_at FROM upstream_credentials ORDER BY upstream`)
	if err != nil {
		return nil, wrap("upstream credentials", err)
	}
	defer rows.Close()
	var out []UpstreamCredential
	for rows.Next() {
		var (
			c       UpstreamCredential
			updated int64
		)
		if err := rows.Scan(&c.Upstream, &c.Username, &c.Sealed, &c.KeyID, &updated); err != nil {
			return nil, wrap("upstream credentials", err)
		}
		c.Updated = fromUnixNano(updated)
		out = append(out, c)
	}
	return out, wrap("upstream credentials", rows.Err())
}

// DeleteUpstreamCredential removes upstream's credential; ErrNotFound when
// none was stored.
func (s *Store) DeleteUpstreamCredential(ctx context.Context, upstream string) error {
	err := s.inTx(ctx, func(c conn) error {
		return affectedOne(c.exec(ctx, `DELETE FROM upstream_credentials WHERE upstream = ?`, upstream))
	})
	return wrap("delete upstream credential", err)
}
