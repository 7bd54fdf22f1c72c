package token

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Why a token was refused. Verify wraps exactly one of them; the message
// around it says what was expected and what came, never a key or a token.
var (
	ErrMalformed   = errors.New("token: malformed")
	ErrAlgorithm   = errors.New("token: algorithm not allowed")
	ErrUnknownKey  = errors.New("token: signing key not trusted")
	ErrSignature   = errors.New("token: signature does not verify")
	ErrExpired     = errors.New("token: expired")
	ErrNotYetValid = errors.New("token: not yet valid")
	ErrIssuer      = errors.New("token: issuer does not match")
	ErrAudience    = errors.New("token: audience does not match")
)

// MaxTokenSize bounds a token. Real ones are well under 4 KiB, or a few KiB
// more with an x5c chain; the bound keeps certificate parsing and signature
// checks of hostile input cheap.
const MaxTokenSize = 64 << 10

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat, as in
// distribution.
const DefaultLeeway = 60 * time.Second

// maxChainLen bounds an x5c chain; a real one is a leaf and an intermediate.
const maxChainLen = 8

// allowedAlgorithms are the only JWS algorithms a token may declare: the
// asymmetric ones distribution and docker_auth use. Never "none", never
// HS*, so a public key can never be used as an HMAC secret.
var allowedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// VerifierConfig configures a Verifier: the registry side of the protocol.
type VerifierConfig struct {
	// Issuer must equal the token's iss claim exactly.
	Issuer string
	// Service must be one of the token's aud values.
	Service string
	// Roots is the rootcertbundle. A token with an x5c header must chain to
	// one of them; the keys of the certificates themselves are trusted by
	// kid (RFC 7638 thumbprint or libtrust fingerprint).
	Roots []*x509.Certificate
	// Keys are further trusted public keys, looked up by the same kids.
	Keys []crypto.PublicKey
	// JWKS is a JWK Set (public keys only); its keys are trusted by their
	// own kid as well as by thumbprint and libtrust fingerprint.
	JWKS []byte
	// Leeway is the tolerated clock skew; 0 means DefaultLeeway and a
	// negative value none.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verifier checks tokens. Its configuration is immutable; it is safe for
// concurrent use.
type Verifier struct {
	issuer  string
	service string
	roots   *x509.CertPool // nil without Roots
	byID    map[string]trustedKey
	leeway  time.Duration
	now     func() time.Time
	// seen caches the tokens Verify accepted (verified.go).
	seen verified
}

// trustedKey is a key and where it came from, for error messages.
type trustedKey struct {
	key    crypto.PublicKey
	source string
}

// NewVerifier checks cfg and builds a Verifier. It reports every problem
// of cfg at once.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	v := &Verifier{
		issuer:  cfg.Issuer,
		service: cfg.Service,
		byID:    map[string]trustedKey{},
		leeway:  cfg.Leeway,
		now:     cfg.Now,
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	v.leeway = max(v.leeway, 0)
	if v.now == nil {
		v.now = time.Now
	}
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("token: verifier issuer is empty"))
	}
	if cfg.Service == "" {
		errs = append(errs, errors.New("token: verifier service is empty"))
	}
	trust := func(key crypto.PublicKey, source string, ids ...string) {
		if err := checkPublicKey(key); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
			return
		}
		ids = append(ids, Thumbprint(key), LibtrustKeyID(key))
		for _, id := range ids {
			if id == "" {
				continue
			}
			if prev, ok := v.byID[id]; ok && !samePublicKey(prev.key, key) {
				errs = append(errs, fmt.Errorf("%w: key id %q names two different keys: %s and %s", ErrKey, id, prev.source, source))
				continue
			}
			if _, ok := v.byID[id]; !ok {
				v.byID[id] = trustedKey{key: key, source: source}
			}
		}
	}
	if len(cfg.Roots) > 0 {
		v.roots = x509.NewCertPool()
	}
	for i, c := range cfg.Roots {
		if c == nil {
			errs = append(errs, fmt.Errorf("%w: root certificate %d is nil", ErrKey, i))
			continue
		}
		v.roots.AddCert(c)
		if checkPublicKey(c.PublicKey) == nil { // other roots still anchor x5c chains
			trust(c.PublicKey, "root certificate "+certName(c))
		}
	}
	for i, k := range cfg.Keys {
		trust(k, fmt.Sprintf("trusted key %d (kid %s)", i, Thumbprint(k)))
	}
	if len(cfg.JWKS) > 0 {
		jwks, err := ParseJWKS(cfg.JWKS)
		if err != nil {
			errs = append(errs, err)
		}
		for i, k := range jwks {
			trust(k.Key, fmt.Sprintf("JWKS key %d (kid %q)", i, k.KeyID), k.KeyID)
		}
	}
	if len(v.byID) == 0 && v.roots == nil {
		errs = append(errs, errors.New("token: no trusted keys: give root certificates, keys or a JWK Set"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return v, nil
}

// verifyError carries a precise message while errors.Is still finds the
// sentinel (and the underlying cause, when there is one).
type verifyError struct {
	sentinel error
	cause    error
	msg      string
}

func (e *verifyError) Error() string { return e.msg }
func (e *verifyError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.sentinel}
	}
	return []error{e.sentinel, e.cause}
}

func fail(sentinel, cause error, format string, args ...any) error {
	return &verifyError{sentinel: sentinel, cause: cause, msg: "token: " + fmt.Sprintf(format, args...)}
}

// Verify checks raw and returns its claims: size, JWS structure, allowed
// algorithm, trusted key, signature, then iss, aud, exp, nbf and iat. A
// token it accepted before is found by its hash and only its validity
// window is checked again.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	now := v.now()
	if c := v.seen.get(raw, now, v.leeway); c != nil {
		return c, nil
	}
	c, err := v.verify(raw)
	if err == nil {
		v.seen.put(raw, c, now, v.leeway)
	}
	return c, err
}

// verify is Verify without the cache.
func (v *Verifier) verify(raw string) (*Claims, error) {
	if raw == "" {
		return nil, fail(ErrMalformed, nil, "empty token")
	}
	if len(raw) > MaxTokenSize {
		return nil, fail(ErrMalformed, nil, "%d bytes is more than the %d-byte limit", len(raw), MaxTokenSize)
	}
	jws, err := jose.ParseSignedCompact(raw, allowedAlgorithms)
	if err != nil {
		if bad, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			if bad.Got == "" {
				return nil, fail(ErrMalformed, nil, "the header has no alg")
			}
			return nil, fail(ErrAlgorithm, nil, "algorithm %s is not allowed (allowed: %s)", clip(string(bad.Got)), algList(allowedAlgorithms))
		}
		return nil, fail(ErrMalformed, err, "not a compact JWS: %s", brief(err))
	}
	h := jws.Signatures[0].Header
	for name := range h.ExtraHeaders {
		if name == "crit" || name == "b64" {
			return nil, fail(ErrMalformed, nil, "header parameter %q is not supported", name)
		}
	}
	key, source, err := v.resolveKey(raw, h)
	if err != nil {
		return nil, err
	}
	alg := jose.SignatureAlgorithm(h.Algorithm)
	if algs, _ := keyAlgorithms(key); !slices.Contains(algs, alg) {
		return nil, fail(ErrAlgorithm, nil, "algorithm %s does not fit the signing key (%s), which signs with %s", alg, source, algList(algs))
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fail(ErrSignature, err, "signature does not verify with %s", source)
	}
	var rc receivedClaims
	if err := json.Unmarshal(payload, &rc); err != nil {
		return nil, fail(ErrMalformed, err, "claims: %s", brief(err))
	}
	return v.checkClaims(&rc)
}

func (v *Verifier) checkClaims(rc *receivedClaims) (*Claims, error) {
	switch {
	case rc.Issuer == nil:
		return nil, fail(ErrIssuer, nil, "no issuer (iss) claim; want %q", v.issuer)
	case *rc.Issuer != v.issuer:
		hint := ""
		if strings.Trim(*rc.Issuer, `"'`) == strings.Trim(v.issuer, `"'`) {
			hint = " (they differ only by quotes: one side's value itself contains quote characters, because it was quoted twice; quote it once or not at all)"
		}
		return nil, fail(ErrIssuer, nil, "issuer %s does not match configured issuer %q%s", clip(*rc.Issuer), v.issuer, hint)
	}
	if len(rc.Audience) == 0 {
		return nil, fail(ErrAudience, nil, "no audience (aud) claim; want service %q", v.service)
	}
	if !slices.Contains(rc.Audience, v.service) {
		aud := make([]string, 0, len(rc.Audience))
		for _, a := range rc.Audience[:min(len(rc.Audience), 8)] {
			aud = append(aud, clip(a))
		}
		return nil, fail(ErrAudience, nil, "audience [%s] does not contain service %q", strings.Join(aud, " "), v.service)
	}
	now := v.now()
	if rc.Expiry == nil {
		return nil, fail(ErrMalformed, nil, "no expiry (exp) claim")
	}
	exp := rc.Expiry.time()
	if now.After(exp.Add(v.leeway)) {
		return nil, fail(ErrExpired, nil, "expired at %s, %s ago (leeway %s)", stamp(exp), now.Sub(exp).Round(time.Second), v.leeway)
	}
	if nbf := rc.NotBefore.time(); rc.NotBefore != nil && now.Add(v.leeway).Before(nbf) {
		return nil, fail(ErrNotYetValid, nil, "not valid before %s, %s from now (leeway %s); are the clocks in sync?",
			stamp(nbf), nbf.Sub(now).Round(time.Second), v.leeway)
	}
	if iat := rc.IssuedAt.time(); rc.IssuedAt != nil && now.Add(v.leeway).Before(iat) {
		return nil, fail(ErrNotYetValid, nil, "issued at %s, %s in the future (leeway %s); are the clocks in sync?",
			stamp(iat), iat.Sub(now).Round(time.Second), v.leeway)
	}
	c := &Claims{
		Issuer:    *rc.Issuer,
		Subject:   rc.Subject,
		Audience:  []string(rc.Audience),
		Expiry:    exp,
		NotBefore: rc.NotBefore.time(),
		IssuedAt:  rc.IssuedAt.time(),
		JTI:       rc.JTI,
		Access:    fromWire(rc.Access),
	}
	if rc.Wharf != nil {
		c.Source, c.TokenID = rc.Wharf.Source, rc.Wharf.TokenID
	}
	return c, nil
}

// resolveKey finds the trusted key a token claims to be signed by:
//  1. an x5c chain: its leaf key, if the key is trusted itself or the chain
//     verifies against Roots;
//  2. a kid: the trusted key with that RFC 7638 thumbprint, libtrust
//     fingerprint or JWK Set kid;
//  3. a jwk header alone: only if it is a trusted key, and then the trusted
//     copy is used. An embedded key never vouches for itself.
func (v *Verifier) resolveKey(raw string, h jose.Header) (crypto.PublicKey, string, error) {
	chain, err := x5cChain(raw)
	if err != nil {
		return nil, "", err
	}
	if len(chain) > 0 {
		return v.chainKey(chain)
	}
	if h.KeyID != "" {
		if tk, ok := v.byID[h.KeyID]; ok {
			return tk.key, tk.source, nil
		}
		kind := describeKeyID(h.KeyID)
		return nil, "", fail(ErrUnknownKey, nil, "key id %s (%s) matches no trusted key; trusted: %s",
			clip(h.KeyID), kind, v.trustedIDs(kind))
	}
	if h.JSONWebKey != nil {
		if tk, ok := v.byID[Thumbprint(h.JSONWebKey.Key)]; ok {
			return tk.key, tk.source, nil
		}
		return nil, "", fail(ErrUnknownKey, nil, "the key in the jwk header is not a trusted key, and an embedded key never vouches for itself")
	}
	return nil, "", fail(ErrUnknownKey, nil, "the header names no key (no x5c, kid or jwk)")
}

// x5cChain reads the x5c header. go-jose parsed it already but keeps the
// unverified certificates to itself, and the leaf is needed before the
// chain is verified.
func x5cChain(raw string) ([]*x509.Certificate, error) {
	seg, _, _ := strings.Cut(raw, ".")
	hb, err := b64url.DecodeString(seg)
	if err != nil {
		return nil, fail(ErrMalformed, err, "header: %s", brief(err))
	}
	var hdr struct {
		X5c []string `json:"x5c"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, fail(ErrMalformed, err, "header: %s", brief(err))
	}
	if len(hdr.X5c) > maxChainLen {
		return nil, fail(ErrMalformed, nil, "x5c chain of %d certificates is longer than %d", len(hdr.X5c), maxChainLen)
	}
	chain := make([]*x509.Certificate, 0, len(hdr.X5c))
	for i, s := range hdr.X5c {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fail(ErrMalformed, err, "x5c certificate %d: %s", i, brief(err))
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fail(ErrMalformed, err, "x5c certificate %d: %s", i, brief(err))
		}
		chain = append(chain, c)
	}
	return chain, nil
}

func (v *Verifier) chainKey(chain []*x509.Certificate) (crypto.PublicKey, string, error) {
	leaf := chain[0]
	name := "x5c certificate " + certName(leaf)
	if err := checkPublicKey(leaf.PublicKey); err != nil {
		return nil, "", fail(ErrUnknownKey, err, "%s: %s", name, err)
	}
	if tk, ok := v.byID[Thumbprint(leaf.PublicKey)]; ok {
		return tk.key, tk.source, nil
	}
	if v.roots == nil {
		return nil, "", fail(ErrUnknownKey, nil, "%s is not a trusted key and no root certificates are configured", name)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: inter,
		CurrentTime:   v.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, "", fail(ErrUnknownKey, err, "%s does not chain to the root bundle: %s", name, brief(err))
	}
	return leaf.PublicKey, name, nil
}

// trustedIDs lists the trusted key ids of the kind the token used, so that
// a wrong rootcertbundle shows at a glance.
func (v *Verifier) trustedIDs(kind string) string {
	var ids []string
	for id := range v.byID {
		if describeKeyID(id) == kind {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "no key ids of this kind"
	}
	slices.Sort(ids)
	more := ""
	if len(ids) > 8 {
		ids, more = ids[:8], fmt.Sprintf(" and %d more", len(ids)-8)
	}
	return fmt.Sprintf("%q%s", ids, more)
}

// brief cuts a library's error message (which may echo parts of the
// token) to a readable length and blanks control characters.
func brief(err error) string {
	const limit = 256
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, err.Error())
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

// clip quotes an untrusted string for a message, cut to a readable length.
func clip(s string) string {
	const limit = 128
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}

func algList(algs []jose.SignatureAlgorithm) string {
	s := make([]string, len(algs))
	for i, a := range algs {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func certName(c *x509.Certificate) string { return fmt.Sprintf("%q", c.Subject.String()) }
