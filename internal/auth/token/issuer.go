package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	"wharf/internal/auth"
)

// DefaultExpiration is the token lifetime when IssuerConfig leaves it zero:
// long enough for a pull of a large image's manifest and first layers (the
// client asks again when it runs out), short enough that a revoked user is
// locked out quickly.
const DefaultExpiration = 5 * time.Minute

// ErrIssue means a token could not be issued or the issuer is misconfigured.
var ErrIssue = errors.New("token: cannot issue")

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	// Issuer is the "iss" claim; the registry's auth.token.issuer must be
	// the same string, byte for byte.
	Issuer string
	// Key signs the tokens: RSA (2048 bits or more), ECDSA P-256/384/521 or
	// Ed25519. Any crypto.Signer works, an HSM's included.
	Key crypto.Signer
	// Chain is the optional certificate chain of Key, leaf first. When set
	// it goes into every token's x5c header, which lets a registry verify
	// tokens against a root bundle holding only the CA.
	Chain []*x509.Certificate
	// Expiration is the token lifetime, whole seconds; 0 means
	// DefaultExpiration.
	Expiration time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Issuer signs access tokens. It is safe for concurrent use.
type Issuer struct {
	issuer     string
	signer     jose.Signer
	alg        jose.SignatureAlgorithm
	kid        string
	pub        crypto.PublicKey
	expiration time.Duration
	now        func() time.Time
	jwks       []byte
}

// NewIssuer checks cfg and builds an Issuer. The token header carries alg
// (from the key), typ "JWT", kid (the RFC 7638 thumbprint) and, with a
// Chain, x5c.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, fmt.Errorf("%w: issuer is empty", ErrIssue))
	}
	if cfg.Expiration < 0 || (cfg.Expiration > 0 && cfg.Expiration < time.Second) {
		errs = append(errs, fmt.Errorf("%w: expiration %s is not a positive number of seconds", ErrIssue, cfg.Expiration))
	}
	if err := checkSigningKey(cfg.Key); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	pub := cfg.Key.Public()
	alg, err := signingAlgorithm(pub)
	if err != nil {
		return nil, err
	}
	kid := Thumbprint(pub)

	opts := (&jose.SignerOptions{}).WithType("JWT")
	if len(cfg.Chain) > 0 {
		if err := checkChain(cfg.Chain, pub, now()); err != nil {
			return nil, err
		}
		x5c := make([]string, len(cfg.Chain))
		for i, c := range cfg.Chain {
			x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
		}
		opts.WithHeader("x5c", x5c)
	}

	var key any = cfg.Key
	switch cfg.Key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		key = cryptosigner.Opaque(cfg.Key)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssue, err)
	}
	jwks, err := MarshalJWKS(JWK{Key: pub})
	if err != nil {
		return nil, err
	}

	expiration := cfg.Expiration.Truncate(time.Second)
	if expiration == 0 {
		expiration = DefaultExpiration
	}
	return &Issuer{
		issuer:     cfg.Issuer,
		signer:     signer,
		alg:        alg,
		kid:        kid,
		pub:        pub,
		expiration: expiration,
		now:        now,
		jwks:       jwks,
	}, nil
}

// checkChain makes sure a registry can use the chain: the leaf holds the
// signing key, each certificate is signed by the next, and all are valid
// now. A chain a registry rejects would fail every login, so it is better
// refused at start-up.
func checkChain(chain []*x509.Certificate, pub crypto.PublicKey, now time.Time) error {
	if !samePublicKey(chain[0].PublicKey, pub) {
		return fmt.Errorf("%w: the first certificate of the chain (%s) does not hold the signing key", ErrIssue, certName(chain[0]))
	}
	for i, c := range chain {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return fmt.Errorf("%w: certificate %d of the chain (%s) is valid from %s to %s, not now (%s)", ErrIssue,
				i, certName(c), c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		if i+1 < len(chain) {
			if err := c.CheckSignatureFrom(chain[i+1]); err != nil {
				return fmt.Errorf("%w: certificate %d of the chain (%s) is not signed by certificate %d (%s): %w", ErrIssue,
					i, certName(c), i+1, certName(chain[i+1]), err)
			}
		}
	}
	return nil
}

// Token is an issued access token.
type Token struct {
	// Raw is the compact JWS, the bearer credential itself. Never log it:
	// Token's String and LogValue leave it out.
	Raw       string
	ExpiresIn time.Duration
	IssuedAt  time.Time
	JTI       string
}

// String describes the token without its secret part.
func (t Token) String() string {
	return fmt.Sprintf("token(jti=%s, issued_at=%s, expires_in=%s)", t.JTI, t.IssuedAt.UTC().Format(time.RFC3339), t.ExpiresIn)
}

// GoString keeps %#v from printing Raw.
func (t Token) GoString() string { return t.String() }

// LogValue keeps log/slog from printing Raw.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("jti", t.JTI),
		slog.Time("issued_at", t.IssuedAt),
		slog.Duration("expires_in", t.ExpiresIn),
	)
}

// jtiBytes is the entropy of a token id: 128 bits from crypto/rand.
const jtiBytes = 16

// Issue signs a token for subject ("" for anonymous) to present to the
// service audience, granting access. Every entry of access appears in the
// token, a denied scope with an empty actions list, as docker_auth does.
func (i *Issuer) Issue(ctx context.Context, subject, audience string, access []auth.Access) (Token, error) {
	return i.IssueFor(ctx, Subject{Account: subject}, audience, access)
}

// Subject is who a token is issued to: the account, and what Wharf's own
// claims say of it (Claims.Source, Claims.TokenID).
type Subject struct {
	Account, Source, TokenID string
}

// IssueFor is Issue with Wharf's claims about the subject.
func (i *Issuer) IssueFor(ctx context.Context, subject Subject, audience string, access []auth.Access) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	if audience == "" {
		return Token{}, fmt.Errorf("%w: audience (the registry's service name) is empty", ErrIssue)
	}
	for n, a := range access {
		if a.Type == "" || a.Name == "" {
			return Token{}, fmt.Errorf("%w: access entry %d (%q) has no type or name", ErrIssue, n, a.String())
		}
	}
	id := make([]byte, jtiBytes)
	if _, err := rand.Read(id); err != nil {
		return Token{}, fmt.Errorf("%w: token id: %w", ErrIssue, err)
	}
	jti := b64url.EncodeToString(id)

	iat := i.now().Unix()
	var private *wharfClaims
	if subject.Source != "" || subject.TokenID != "" {
		private = &wharfClaims{Source: subject.Source, TokenID: subject.TokenID}
	}
	payload, err := json.Marshal(issuedClaims{
		Wharf:     private,
		Issuer:    i.issuer,
		Subject:   subject.Account,
		Audience:  audience,
		Expiry:    iat + int64(i.expiration/time.Second),
		NotBefore: iat,
		IssuedAt:  iat,
		JTI:       jti,
		Access:    toWire(access),
	})
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrIssue, err)
	}
	jws, err := i.signer.Sign(payload)
	if err != nil {
		return Token{}, fmt.Errorf("%w: sign: %w", ErrIssue, err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return Token{}, fmt.Errorf("%w: serialize: %w", ErrIssue, err)
	}
	return Token{Raw: raw, ExpiresIn: i.expiration, IssuedAt: time.Unix(iat, 0), JTI: jti}, nil
}

// JWKS is the issuer's public key as a JWK Set (kid = RFC 7638 thumbprint),
// for a /.well-known/jwks.json endpoint or a registry's jwks file.
func (i *Issuer) JWKS() []byte { return append([]byte(nil), i.jwks...) }

// PublicKey is the key that verifies this issuer's tokens.
func (i *Issuer) PublicKey() crypto.PublicKey { return i.pub }

// KeyID is the kid of this issuer's tokens, the RFC 7638 thumbprint.
func (i *Issuer) KeyID() string { return i.kid }

// Algorithm is the JWS alg of this issuer's tokens.
func (i *Issuer) Algorithm() string { return string(i.alg) }
