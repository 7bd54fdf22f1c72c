package authstack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wharf/internal/auth/token"
	"wharf/internal/config"
	"wharf/internal/metadata"
)

// TokenKeyInfo is what an operator sees of a token-signing key: never the
// private key.
type TokenKeyInfo struct {
	KID     string    `json:"kid"`
	Created time.Time `json:"created"`
	// Signing is true for the key new tokens are signed with.
	Signing bool `json:"signing"`
	// RetireAt is when the key stops verifying (zero for the signing key).
	RetireAt time.Time `json:"retire_at,omitzero"`
}

// retireAfter is how long a replaced key still verifies: its last tokens
// were signed at most KeysRefresh after the rotation (by a replica that had
// not read it yet), live token.expiration, and are accepted for the clock
// leeway beyond.
func retireAfter(t config.Token) time.Duration {
	exp := t.Expiration.Std()
	if exp <= 0 {
		exp = token.DefaultExpiration
	}
	return exp + 2*KeysRefresh + token.DefaultLeeway
}

// TokenKeys lists the key set in the database that has not retired, the
// signing key first.
func TokenKeys(ctx context.Context, cfg config.Config, meta *metadata.Store) ([]TokenKeyInfo, error) {
	if err := keysInDatabase(cfg, meta); err != nil {
		return nil, err
	}
	rows, err := meta.TokenKeys(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	out := make([]TokenKeyInfo, len(rows))
	for i, r := range rows {
		out[i] = TokenKeyInfo{KID: r.KID, Created: r.Created, Signing: i == 0, RetireAt: r.RetireAt}
	}
	return out, nil
}

// RotateTokenKey adds a new signing key to the database's set: every
// server on the database signs with it within KeysRefresh, and the keys it
// replaces verify until their last tokens have expired (retireAfter), then
// retire. It returns the set after the rotation.
func RotateTokenKey(ctx context.Context, cfg config.Config, meta *metadata.Store) ([]TokenKeyInfo, error) {
	if err := keysInDatabase(cfg, meta); err != nil {
		return nil, err
	}
	v, err := meta.TokenKeysVersion(ctx)
	if err != nil {
		return nil, err
	}
	if v == 0 {
		return nil, errors.New("authstack: the database holds no token-signing key yet; start `wharf serve` once, which adds the first")
	}
	row, err := newKeyRow()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	row.Created = now
	if _, err := meta.AddTokenKey(ctx, v, row, now.Add(retireAfter(cfg.Token)), now); err != nil {
		if errors.Is(err, metadata.ErrKeyRace) {
			return nil, fmt.Errorf("authstack: rotate token key: %w; see `wharf token-key ls` and try again if needed", err)
		}
		return nil, fmt.Errorf("authstack: rotate token key: %w", err)
	}
	return TokenKeys(ctx, cfg, meta)
}

// TokenKeys lists the endpoint's key set (TokenKeys).
func (e *TokenEndpoint) TokenKeys(ctx context.Context) ([]TokenKeyInfo, error) {
	return TokenKeys(ctx, e.cfg, e.keys.meta)
}

// RotateTokenKey rotates the key set (RotateTokenKey); this server signs
// with the new key at once.
func (e *TokenEndpoint) RotateTokenKey(ctx context.Context) ([]TokenKeyInfo, error) {
	out, err := RotateTokenKey(ctx, e.cfg, e.keys.meta)
	if err != nil {
		return nil, err
	}
	e.keys.mu.Lock()
	defer e.keys.mu.Unlock()
	if err := e.keys.reload(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// keysInDatabase refuses to list or rotate keys that are not the
// database's.
func keysInDatabase(cfg config.Config, meta *metadata.Store) error {
	switch {
	case cfg.Token.Key != "":
		return ErrKeysConfigured
	case meta == nil:
		return errors.New("authstack: token-signing keys: no metadata database")
	}
	return nil
}
