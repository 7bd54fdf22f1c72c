package authstack

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"wharf/internal/atomicfile"
	"wharf/internal/auth"
	"wharf/internal/auth/token"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// KeysRefresh is how often a server asks the database whether the
// token-signing key set changed (one single-row read): a rotation on one
// replica is signed with by the others within this bound. A token signed
// with a key a replica does not know yet makes it read the set at once.
const KeysRefresh = 5 * time.Second

// ErrKeysConfigured means token.key is configured: the key set is that file,
// rotated by replacing it, not in the database.
var ErrKeysConfigured = errors.New("authstack: token.key is configured; rotate it by replacing the key and certificate files and restarting")

// keyState is one view of the key set: the issuer of the newest key, a
// verifier of every key that has not retired, their JWKS.
type keyState struct {
	issuer   *token.Issuer
	verifier *token.Verifier
	jwks     []byte
	version  int64
	readAt   time.Time
	// retires is when the first key of the set retires (zero: none
	// does): the set is read again then, though no key was added.
	retires time.Time
}

// keyring is the token endpoint's key set. With token.key configured it is
// that key for good; otherwise it is the database's set (token_keys),
// shared by every replica on the database and re-read when it changed.
type keyring struct {
	meta    *metadata.Store // nil: a configured key, never re-read
	dir     datadir.Dir
	cfg     config.Token
	service string
	log     *slog.Logger
	now     func() time.Time

	cur     atomic.Pointer[keyState]
	mu      sync.Mutex // one reload at a time
	missAt  time.Time  // the last reload for an unknown key id, under mu
	missGap time.Duration
}

var (
	_ token.Issuing   = (*keyring)(nil)
	_ token.Verifying = (*keyring)(nil)
)

// newKeyring loads the key set of cfg: the configured key, or the
// database's (adding the first key, or importing the data directory's
// token.key of earlier releases, when the set is empty).
func newKeyring(ctx context.Context, cfg config.Config, meta *metadata.Store, log *slog.Logger) (*keyring, error) {
	k := &keyring{dir: datadir.New(cfg.Data), cfg: cfg.Token, service: cfg.Token.Service, log: log, now: time.Now, missGap: time.Second}
	if cfg.Token.Key != "" || meta == nil {
		key, chain, err := signingKey(cfg.Token, datadir.New(cfg.Data), log)
		if err != nil {
			return nil, err
		}
		st, err := k.state([]signer{{key: key, chain: chain}})
		if err != nil {
			return nil, err
		}
		k.cur.Store(st)
		return k, nil
	}
	k.meta = meta
	if err := k.first(ctx, k.dir); err != nil {
		return nil, err
	}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// signer is a key of the set with its certificate chain.
type signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

// first makes sure the database's set has a key: the data directory's
// token.key when an earlier release generated one (tokens it signed and
// registries trusting its certificate keep working), else a new one. Two
// replicas starting at once agree on one.
func (k *keyring) first(ctx context.Context, dir datadir.Dir) error {
	v, err := k.meta.TokenKeysVersion(ctx)
	if err != nil || v != 0 {
		return err
	}
	var row metadata.TokenKey
	keyPEM, kerr := os.ReadFile(dir.TokenKey())
	certPEM, cerr := os.ReadFile(dir.TokenCert())
	switch {
	case kerr == nil && cerr == nil:
		key, err := token.ParsePrivateKeyPEM(keyPEM)
		if err != nil {
			return fmt.Errorf("authstack: token key %s: %w", dir.TokenKey(), err)
		}
		row = metadata.TokenKey{KID: token.Thumbprint(key.Public()), PrivateKey: string(keyPEM), Certificate: string(certPEM)}
	case errors.Is(kerr, fs.ErrNotExist):
		if row, err = newKeyRow(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("authstack: token key: %w", errors.Join(kerr, cerr))
	}
	row.Created = k.now()
	_, err = k.meta.AddTokenKey(ctx, 0, row, row.Created, row.Created)
	switch {
	case errors.Is(err, metadata.ErrKeyRace): // another replica added it
		return nil
	case err != nil:
		return fmt.Errorf("authstack: token key: %w", err)
	case kerr == nil:
		// The file is no longer read: renamed, so that nobody takes it
		// for the key that signs after a rotation.
		if err := os.Rename(dir.TokenKey(), dir.TokenKeyImported()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			k.log.Warn("cannot rename the imported token key", "key", dir.TokenKey(), "err", err)
		}
		k.log.Info("imported the token-signing key into the database; every replica on it signs with it now",
			"key", dir.TokenKey(), "renamed_to", dir.TokenKeyImported(), "kid", row.KID)
	default:
		k.log.Info("generated a token-signing key in the database", "kid", row.KID)
	}
	return nil
}

// newKeyRow generates a key (ECDSA P-256) and its self-signed certificate.
func newKeyRow() (metadata.TokenKey, error) {
	key, certPEM, err := newSigningKey()
	if err != nil {
		return metadata.TokenKey{}, err
	}
	keyPEM, err := token.EncodePrivateKeyPEM(key)
	if err != nil {
		return metadata.TokenKey{}, fmt.Errorf("authstack: token key: %w", err)
	}
	return metadata.TokenKey{KID: token.Thumbprint(key.Public()), PrivateKey: string(keyPEM), Certificate: string(certPEM)}, nil
}

// reload reads the set and installs it.
func (k *keyring) reload(ctx context.Context) error {
	v, err := k.meta.TokenKeysVersion(ctx)
	if err != nil {
		return err
	}
	if cur := k.cur.Load(); cur != nil && cur.version == v && (cur.retires.IsZero() || k.now().Before(cur.retires)) {
		st := *cur
		st.readAt = k.now()
		k.cur.Store(&st)
		return nil
	}
	rows, err := k.meta.TokenKeys(ctx, k.now())
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return errors.New("authstack: the database holds no token-signing key that has not retired; restart a server to add one")
	}
	set := make([]signer, 0, len(rows))
	for _, r := range rows {
		s, err := parseKeyRow(r)
		if err != nil {
			return err
		}
		set = append(set, s)
	}
	st, err := k.state(set)
	if err != nil {
		return err
	}
	st.version = rows[0].Seq
	for _, r := range rows {
		if !r.RetireAt.IsZero() && (st.retires.IsZero() || r.RetireAt.Before(st.retires)) {
			st.retires = r.RetireAt
		}
	}
	if cur := k.cur.Load(); cur != nil && cur.issuer.KeyID() != st.issuer.KeyID() {
		k.log.Info("token-signing key changed", "kid", st.issuer.KeyID(), "verifying", len(set))
	}
	k.cur.Store(st)
	k.publish(rows)
	return nil
}

// publish writes the certificates of the set, the signing key's first, to
// the data directory's token.crt, the rootcertbundle of a separate `wharf
// registry` or registry:2 (which reads it at start). Certificates are
// public; the private keys stay in the database.
func (k *keyring) publish(rows []metadata.TokenKey) {
	var bundle []byte
	for _, r := range rows {
		bundle = append(bundle, r.Certificate...)
	}
	path := k.dir.TokenCert()
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, bundle) {
		return
	}
	if err := k.dir.CreateAuth(); err != nil {
		k.log.Warn("cannot write the token certificates", "file", path, "err", err)
		return
	}
	if err := atomicfile.Write(path, bundle, 0o644); err != nil {
		k.log.Warn("cannot write the token certificates", "file", path, "err", err)
	}
}

func parseKeyRow(r metadata.TokenKey) (signer, error) {
	key, err := token.ParsePrivateKeyPEM([]byte(r.PrivateKey))
	if err != nil {
		return signer{}, fmt.Errorf("authstack: token key %s in the database: %w", r.KID, err)
	}
	chain, err := token.ParseCertificatesPEM([]byte(r.Certificate))
	if err != nil {
		return signer{}, fmt.Errorf("authstack: token certificate %s in the database: %w", r.KID, err)
	}
	return signer{key: key, chain: chain}, nil
}

// state builds the issuer of set[0] and the verifier of all of set.
func (k *keyring) state(set []signer) (*keyState, error) {
	issuer, err := token.NewIssuer(token.IssuerConfig{Issuer: k.cfg.Issuer, Key: set[0].key, Chain: set[0].chain, Expiration: k.cfg.Expiration.Std()})
	if err != nil {
		return nil, fmt.Errorf("authstack: token issuer: %w", err)
	}
	pubs := make([]crypto.PublicKey, len(set))
	jwks := make([]token.JWK, len(set))
	for i, s := range set {
		pubs[i], jwks[i] = s.key.Public(), token.JWK{Key: s.key.Public()}
	}
	st := &keyState{issuer: issuer, readAt: k.now()}
	if st.jwks, err = token.MarshalJWKS(jwks...); err != nil {
		return nil, err
	}
	if k.service != "" {
		if st.verifier, err = token.NewVerifier(token.VerifierConfig{Issuer: k.cfg.Issuer, Service: k.service, Keys: pubs}); err != nil {
			return nil, fmt.Errorf("authstack: token verifier: %w", err)
		}
	}
	return st, nil
}

// fresh returns the current state, re-read first when it is older than
// KeysRefresh (by the caller that finds it so; a failed read keeps the
// last state, logged).
func (k *keyring) fresh(ctx context.Context) *keyState {
	st := k.cur.Load()
	if k.meta == nil || k.now().Sub(st.readAt) < KeysRefresh || !k.mu.TryLock() {
		return st
	}
	defer k.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, keysReadTimeout)
	defer cancel()
	if err := k.reload(ctx); err != nil {
		k.log.WarnContext(ctx, "reading the token-signing keys failed; keeping the last ones", "err", err)
	}
	return k.cur.Load()
}

// keysReadTimeout bounds a read of the key set made on a request's behalf.
const keysReadTimeout = 5 * time.Second

// IssueFor signs with the newest key.
func (k *keyring) IssueFor(ctx context.Context, subject token.Subject, audience string, access []auth.Access) (token.Token, error) {
	return k.fresh(ctx).issuer.IssueFor(ctx, subject, audience, access)
}

// Verify checks raw against every key that has not retired. A token whose
// key this replica does not know yet (rotated on another one a moment
// ago) makes it read the set at once, at most once a second.
func (k *keyring) Verify(raw string) (*token.Claims, error) {
	claims, err := k.fresh(context.Background()).verifier.Verify(raw)
	if err == nil || k.meta == nil || !errors.Is(err, token.ErrUnknownKey) {
		return claims, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), keysReadTimeout)
	defer cancel()
	k.mu.Lock()
	reread := k.now().Sub(k.missAt) >= k.missGap
	if reread {
		k.missAt = k.now()
		if rerr := k.reload(ctx); rerr != nil {
			k.log.Warn("reading the token-signing keys failed; keeping the last ones", "err", rerr)
		}
	}
	k.mu.Unlock()
	if !reread {
		return claims, err
	}
	return k.cur.Load().verifier.Verify(raw)
}

// JWKS returns the public keys of the set, for /auth/jwks.json.
func (k *keyring) JWKS() []byte { return k.fresh(context.Background()).jwks }
