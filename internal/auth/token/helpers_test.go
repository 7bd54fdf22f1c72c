package token

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The classic stack's names, quotes and all (see the compose pitfall).
const (
	testIssuer  = "Auth Service"
	testService = "Docker registry"
)

// testNow is the fixed clock of every test that does not say otherwise.
var testNow = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

func clock() time.Time { return testNow }

// Keys are made once per kind and shared: RSA generation is slow and the
// tests never mutate a key.
var (
	keyMu    sync.Mutex
	keyCache = map[string]crypto.Signer{}
)

// testKey returns the key named name (e.g. "trusted", "attacker") of kind.
func testKey(t testing.TB, kind KeyKind, name string) crypto.Signer {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	id := string(kind) + "/" + name
	if k, ok := keyCache[id]; ok {
		return k
	}
	k, err := GenerateKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	keyCache[id] = k
	return k
}

// fixtureKey reads an openssl-made key from testdata.
func fixtureKey(t testing.TB, file string) crypto.Signer {
	t.Helper()
	k, err := ParsePrivateKeyPEM(readFixture(t, file))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return k
}

func readFixture(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newCert makes a certificate valid an hour around testNow, signed by
// parent (self-signed when parent is nil).
func newCert(t testing.TB, key crypto.Signer, cn string, isCA bool, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	return newCertValid(t, key, cn, isCA, parent, parentKey, testNow.Add(-time.Hour), testNow.Add(time.Hour))
}

func newCertValid(t testing.TB, key crypto.Signer, cn string, isCA bool, parent *x509.Certificate, parentKey crypto.Signer, from, to time.Time) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             from,
		NotAfter:              to,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// claimsAt are the claims a docker_auth-like issuer writes at now.
func claimsAt(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer,
		"sub": "alice",
		"aud": testService,
		"exp": now.Add(5 * time.Minute).Unix(),
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"jti": "test-jti",
		"access": []map[string]any{
			{"type": "repository", "name": "team/app", "actions": []string{"pull"}},
		},
	}
}

// with returns a copy of m with key set to v, or removed when v is nil.
func with(m map[string]any, key string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	if v == nil {
		delete(out, key)
	} else {
		out[key] = v
	}
	return out
}

// signJOSE signs claims with go-jose as a foreign issuer would: alg, an
// optional kid, and extra header parameters (x5c, jwk, crit…).
func signJOSE(t testing.TB, key crypto.Signer, alg jose.SignatureAlgorithm, kid string, extra map[string]any, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for k, v := range extra {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// craft builds a compact token by hand, for what go-jose refuses to sign.
func craft(t testing.TB, header, claims any, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64url.EncodeToString(h) + "." + b64url.EncodeToString(p)
	return input + "." + b64url.EncodeToString(sign([]byte(input)))
}

func x5cOf(certs ...*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	return out
}

func mustVerifier(t testing.TB, cfg VerifierConfig) *Verifier {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = testIssuer
	}
	if cfg.Service == "" {
		cfg.Service = testService
	}
	if cfg.Now == nil {
		cfg.Now = clock
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustIssuer(t testing.TB, cfg IssuerConfig) *Issuer {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = testIssuer
	}
	if cfg.Now == nil {
		cfg.Now = clock
	}
	i, err := NewIssuer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// sentinels are all the errors Verify may wrap.
var sentinels = []error{ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience}
