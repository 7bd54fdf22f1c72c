package authstack

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"time"

	"wharf/internal/accounts"
	"wharf/internal/atomicfile"
	"wharf/internal/auth/token"
	"wharf/internal/auth/tokenserver"
	"wharf/internal/config"
	"wharf/internal/datadir"
)

// TokenEndpoint is the token server of `wharf serve` and `wharf auth`:
// its handler, the chains it asks (the embedded Stack), its public keys
// and, in `wharf serve`, the verifier of its own tokens.
type TokenEndpoint struct {
	*Stack
	// Handler serves GET and POST /auth and TokenPath, each request on
	// one snapshot of the database's identities.
	Handler http.Handler
	// JWKS returns the public keys of the signing keys that have not
	// retired, for /auth/jwks.json.
	JWKS func() []byte
	// Verifier checks the tokens this endpoint issues: the registry API
	// and the admin API of `wharf serve` use it. Nil for `wharf auth`,
	// which serves no registry.
	Verifier token.Verifying

	cfg  config.Config
	keys *keyring
}

// NewTokenEndpoint builds the token server of cfg: the signing keys (the
// configured one, or the set in the metadata database that every replica
// on it shares, tokenkeys.go), the chains (Build) and, in `wharf serve`, the verifier of
// its own tokens, whose issuer, service and key come from the same place
// as the issuer's, so that they cannot disagree. The caller must Close
// it.
func NewTokenEndpoint(ctx context.Context, cfg config.Config, opts Options) (*TokenEndpoint, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	dir := datadir.New(cfg.Data)
	if err := dir.CreateAuth(); err != nil {
		return nil, err
	}
	keys, err := newKeyring(ctx, cfg, opts.Meta, opts.Log)
	if err != nil {
		return nil, err
	}
	stack, err := Build(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	ts, err := tokenserver.New(tokenserver.Config{
		Service:          cfg.Token.Service,
		Issuer:           keys,
		Authn:            stack.Authn,
		Authz:            stack.Authz,
		Limiter:          stack.Limiter,
		AnonymousLimiter: stack.Anonymous,
		AnonymousScopes:  cfg.Limits.WithDefaults().AnonymousScopes,
		Refresh:          accounts.NewSessionStore(opts.Meta),
		Sessions:         stack.Sessions,
		// How long a docker login lasts: confirmed with its backend at
		// every refresh, or (backends that cannot be asked) a day.
		RefreshTTL:     cfg.Sessions.Lifetime.Std(),
		UnconfirmedTTL: cfg.Sessions.UnconfirmedLifetime.Std(),
		Count:          opts.CountTokens,
		Log:            opts.Log,
		Audit:          opts.Audit,
	})
	if err != nil {
		_ = stack.Close()
		return nil, err
	}
	e := &TokenEndpoint{Stack: stack, Handler: stack.Pin(ts), JWKS: keys.JWKS, cfg: cfg, keys: keys}
	if cfg.Role == config.RoleAllInOne {
		e.Verifier = keys
	}
	return e, nil
}

// signingKey loads the configured token key and certificate, or the ones
// generated on first start in the data directory.
func signingKey(c config.Token, dir datadir.Dir, log *slog.Logger) (crypto.Signer, []*x509.Certificate, error) {
	keyPath, certPath := c.Key, c.Certificate
	if keyPath == "" {
		keyPath, certPath = dir.TokenKey(), dir.TokenCert()
		if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
			if err := generateSigningKey(keyPath, certPath); err != nil {
				return nil, nil, err
			}
			log.Info("generated a token-signing key", "key", keyPath, "certificate", certPath)
		}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("authstack: token key: %w", err)
	}
	key, err := token.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("authstack: token key %s: %w", keyPath, err)
	}
	chain, err := readCertificates("token certificate", certPath)
	if err != nil {
		return nil, nil, err
	}
	return key, chain, nil
}

func generateSigningKey(keyPath, certPath string) error {
	key, certPEM, err := newSigningKey()
	if err != nil {
		return err
	}
	keyPEM, err := token.EncodePrivateKeyPEM(key)
	if err != nil {
		return fmt.Errorf("authstack: token key: %w", err)
	}
	if err := atomicfile.Write(certPath, certPEM, 0o644); err != nil {
		return err
	}
	return atomicfile.Write(keyPath, keyPEM, 0o600)
}

// newSigningKey generates a token-signing key (ECDSA P-256) and its
// self-signed certificate, PEM.
func newSigningKey() (crypto.Signer, []byte, error) {
	key, err := token.GenerateKey(token.KeyECDSAP256)
	if err != nil {
		return nil, nil, fmt.Errorf("authstack: generate token key: %w", err)
	}
	cert, err := token.SelfSignedCert(key, "wharf token signer", 5*365*24*time.Hour)
	if err != nil {
		return nil, nil, fmt.Errorf("authstack: token certificate: %w", err)
	}
	return key, token.EncodeCertificatesPEM(cert), nil
}

// readCertificates reads the PEM certificates of path; what names the
// file in errors.
func readCertificates(what, path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authstack: %s: %w", what, err)
	}
	certs, err := token.ParseCertificatesPEM(b)
	if err != nil {
		return nil, fmt.Errorf("authstack: %s %s: %w", what, path, err)
	}
	return certs, nil
}
