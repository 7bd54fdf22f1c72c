package token

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
)

// TestRoundTrip issues with every key kind and verifies with every way a
// registry can be told to trust the issuer.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	kinds := []KeyKind{KeyRSA2048, KeyECDSAP256, KeyECDSAP384, KeyECDSAP521, KeyEd25519}
	modes := []string{
		"x5c chain to CA",          // issuer sends leaf+intermediate, registry has the CA
		"x5c self-signed in roots", // the classic: one certificate signs and is the bundle
		"kid, cert in roots",       // no x5c, the bundle holds the certificate
		"kid, trusted key",         // no x5c, a bare public key
		"kid, JWKS only",           // no x5c, no certificates
	}
	access := []auth.Access{
		{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "team/denied", Actions: []string{}},
		{Type: "repository", Class: "plugin", Name: "plug", Actions: []string{"pull"}},
		{Type: "registry", Name: "catalog", Actions: []string{"*"}},
	}
	for _, kind := range kinds {
		for _, mode := range modes {
			t.Run(string(kind)+"/"+mode, func(t *testing.T) {
				t.Parallel()
				key := testKey(t, kind, "trusted")
				caKey := testKey(t, KeyECDSAP384, "ca")
				ca := newCert(t, caKey, "Wharf CA", true, nil, nil)
				interKey := testKey(t, KeyECDSAP256, "intermediate")
				inter := newCert(t, interKey, "Wharf intermediate", true, ca, caKey)
				self := newCert(t, key, "token signer", false, nil, nil)

				var icfg IssuerConfig
				var vcfg VerifierConfig
				switch mode {
				case modes[0]:
					icfg.Chain = []*x509.Certificate{newCert(t, key, "token signer", false, inter, interKey), inter}
					vcfg.Roots = []*x509.Certificate{ca}
				case modes[1]:
					icfg.Chain = []*x509.Certificate{self}
					vcfg.Roots = []*x509.Certificate{ca, self}
				case modes[2]:
					vcfg.Roots = []*x509.Certificate{ca, self}
				case modes[3]:
					vcfg.Keys = []crypto.PublicKey{key.Public()}
				case modes[4]:
					jwks, err := MarshalJWKS(JWK{Key: key.Public()})
					if err != nil {
						t.Fatal(err)
					}
					vcfg.JWKS = jwks
				}
				icfg.Key = key
				iss := mustIssuer(t, icfg)
				v := mustVerifier(t, vcfg)

				tok, err := iss.Issue(context.Background(), "alice", testService, access)
				if err != nil {
					t.Fatal(err)
				}
				got, err := v.Verify(tok.Raw)
				if err != nil {
					t.Fatal(err)
				}
				want := &Claims{
					Issuer:    testIssuer,
					Subject:   "alice",
					Audience:  []string{testService},
					Expiry:    testNow.Add(DefaultExpiration),
					NotBefore: testNow,
					IssuedAt:  testNow,
					JTI:       tok.JTI,
					Access:    access,
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestDockerAuthTokens verifies tokens made the way cesanta/docker_auth
// makes them by default: no x5c, kid = libtrust fingerprint, RS256 or ES256
// by key, aud a string; the registry trusts the auth server's certificate
// (here the openssl-made one) as its rootcertbundle.
func TestDockerAuthTokens(t *testing.T) {
	t.Parallel()
	rsaCert, err := ParseCertificatesPEM(readFixture(t, "rsa-2048-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ecKey := fixtureKey(t, "ec-p256-sec1.pem")
	ecCert := newCert(t, ecKey, "auth-server.io", false, nil, nil)
	tests := []struct {
		name string
		key  crypto.Signer
		alg  jose.SignatureAlgorithm
		kid  string
	}{
		{"RS256", fixtureKey(t, "rsa-2048-pkcs1.pem"), jose.RS256, rsaLibtrust},
		{"RS512", fixtureKey(t, "rsa-2048-pkcs1.pem"), jose.RS512, rsaLibtrust},
		{"ES256", ecKey, jose.ES256, ecP256Libtrust},
	}
	v := mustVerifier(t, VerifierConfig{Roots: []*x509.Certificate{rsaCert[0], ecCert}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := signJOSE(t, tc.key, tc.alg, tc.kid, nil, claimsAt(testNow))
			got, err := v.Verify(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Allows("repository", "team/app", "pull") || got.Subject != "alice" || got.JTI != "test-jti" {
				t.Errorf("claims = %+v", got)
			}
		})
	}
}

func TestVerifyAcceptsForeignForms(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyECDSAP256, "trusted")
	kid := Thumbprint(key.Public())
	v := mustVerifier(t, VerifierConfig{Keys: []crypto.PublicKey{key.Public()}})
	tests := []struct {
		name   string
		claims map[string]any
		header map[string]any
		kid    string
	}{
		{name: "aud array", claims: with(claimsAt(testNow), "aud", []string{"other", testService}), kid: kid},
		{name: "fractional dates", claims: with(claimsAt(testNow), "exp", float64(testNow.Unix())+299.5), kid: kid},
		{name: "no nbf, no iat", claims: with(with(claimsAt(testNow), "nbf", nil), "iat", nil), kid: kid},
		{name: "expired within leeway", claims: with(claimsAt(testNow), "exp", testNow.Add(-59*time.Second).Unix()), kid: kid},
		{name: "nbf within leeway", claims: with(claimsAt(testNow), "nbf", testNow.Add(59*time.Second).Unix()), kid: kid},
		{name: "jwk header of the trusted key", claims: claimsAt(testNow), header: map[string]any{"jwk": jose.JSONWebKey{Key: key.Public()}}},
		{name: "libtrust kid of a trusted key", claims: claimsAt(testNow), kid: LibtrustKeyID(key.Public())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := v.Verify(signJOSE(t, key, jose.ES256, tc.kid, tc.header, tc.claims)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestJWKSOwnKeyID(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyRSA2048, "trusted")
	jwks, err := MarshalJWKS(JWK{KeyID: "2030-signing-key", Key: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, VerifierConfig{JWKS: jwks})
	for _, kid := range []string{"2030-signing-key", Thumbprint(key.Public()), LibtrustKeyID(key.Public())} {
		if _, err := v.Verify(signJOSE(t, key, jose.RS256, kid, nil, claimsAt(testNow))); err != nil {
			t.Errorf("kid %q: %v", kid, err)
		}
	}
}

func TestLeeway(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyEd25519, "trusted")
	raw := signJOSE(t, key, jose.EdDSA, Thumbprint(key.Public()), nil, with(claimsAt(testNow), "exp", testNow.Add(-30*time.Second).Unix()))
	tests := []struct {
		leeway time.Duration
		want   error
	}{
		{0, nil}, // the default, 60s
		{-1, ErrExpired},
		{10 * time.Second, ErrExpired},
		{time.Minute, nil},
	}
	for _, tc := range tests {
		v := mustVerifier(t, VerifierConfig{Keys: []crypto.PublicKey{key.Public()}, Leeway: tc.leeway})
		if _, err := v.Verify(raw); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
			t.Errorf("leeway %s: err = %v, want %v", tc.leeway, err, tc.want)
		}
	}
}

func TestClaimsAllows(t *testing.T) {
	t.Parallel()
	c := &Claims{Access: []auth.Access{
		{Type: "repository", Name: "a", Actions: []string{"pull"}},
		{Type: "repository", Name: "admin/all", Actions: []string{"*"}},
		{Type: "repository", Name: "denied", Actions: []string{}},
		{Type: "registry", Name: "catalog", Actions: []string{"*"}},
	}}
	tests := []struct {
		name              string
		typ, repo, action string
		want              bool
	}{
		{"pull token pulls", "repository", "a", "pull", true},
		{"pull token used to push", "repository", "a", "push", false},
		{"token for a used on b", "repository", "b", "pull", false},
		{"prefix of a name", "repository", "a/", "pull", false},
		{"wildcard action", "repository", "admin/all", "delete", true},
		{"denied scope", "repository", "denied", "pull", false},
		{"type must match", "registry", "a", "pull", false},
		{"catalog", "registry", "catalog", "*", true},
		{"empty action", "repository", "a", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := c.Allows(tc.typ, tc.repo, tc.action); got != tc.want {
				t.Errorf("Allows(%s, %s, %s) = %v, want %v", tc.typ, tc.repo, tc.action, got, tc.want)
			}
		})
	}
	var none *Claims
	if none.Allows("repository", "a", "pull") {
		t.Error("nil claims allow")
	}
}

// TestAllowsEndToEnd checks the scope a token was issued for is all it
// grants after a round trip.
func TestAllowsEndToEnd(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyECDSAP256, "trusted")
	iss := mustIssuer(t, IssuerConfig{Key: key})
	v := mustVerifier(t, VerifierConfig{Keys: []crypto.PublicKey{key.Public()}})
	scope, err := auth.ParseScope("repository:team/a:pull")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Issue(context.Background(), "test", testService, []auth.Access{scope})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(tok.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Allows("repository", "team/a", "pull") || c.Allows("repository", "team/a", "push") || c.Allows("repository", "team/b", "pull") {
		t.Errorf("access = %v", c.Access)
	}
}

func TestNewVerifierRejects(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyECDSAP256, "trusted").Public()
	tests := []struct {
		name string
		cfg  VerifierConfig
		want []string
	}{
		{"nothing", VerifierConfig{}, []string{"issuer is empty", "service is empty", "no trusted keys"}},
		{"private key as trusted key", VerifierConfig{Issuer: "i", Service: "s", Keys: []crypto.PublicKey{testKey(t, KeyECDSAP256, "trusted")}},
			[]string{"trusted key 0", "unsupported public key type"}},
		{"HMAC secret as trusted key", VerifierConfig{Issuer: "i", Service: "s", Keys: []crypto.PublicKey{[]byte("secret")}},
			[]string{"unsupported public key type"}},
		{"bad JWKS", VerifierConfig{Issuer: "i", Service: "s", Keys: []crypto.PublicKey{key}, JWKS: []byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`)},
			[]string{"private or symmetric"}},
		{"JWKS kid names another key", VerifierConfig{Issuer: "i", Service: "s", Keys: []crypto.PublicKey{key},
			JWKS: mustJWKS(t, JWK{KeyID: Thumbprint(key), Key: testKey(t, KeyECDSAP256, "attacker").Public()})},
			[]string{"names two different keys"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewVerifier(tc.cfg)
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to mention %q", err, want)
				}
			}
		})
	}
}

func mustJWKS(t testing.TB, keys ...JWK) []byte {
	t.Helper()
	b, err := MarshalJWKS(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIssuerQuotedInConfig is the compose pitfall as users meet it: the
// registry's issuer picked up the quotes, the auth server's did not.
func TestIssuerQuotedInConfig(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyECDSAP256, "trusted")
	v := mustVerifier(t, VerifierConfig{Issuer: `"Auth Service"`, Keys: []crypto.PublicKey{key.Public()}})
	_, err := v.Verify(signJOSE(t, key, jose.ES256, Thumbprint(key.Public()), nil, claimsAt(testNow)))
	const want = `token: issuer "Auth Service" does not match configured issuer "\"Auth Service\"" (they differ only by quotes`
	if !errors.Is(err, ErrIssuer) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want ErrIssuer starting %s", err, want)
	}
	// compose's list syntax is decoded correctly; the value was quoted twice.
	if strings.Contains(err.Error(), "compose") || !strings.Contains(err.Error(), "quoted twice") {
		t.Errorf("the hint blames compose instead of the value: %v", err)
	}
}
