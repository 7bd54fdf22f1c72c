package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"slices"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerify checks that Verify never panics, fails with exactly one
// sentinel, and accepts only tokens whose signature an independent go-jose
// check confirms with one of the trusted keys, for the right issuer and
// service.
func FuzzVerify(f *testing.F) {
	rsaKey := testKey(f, KeyRSA2048, "trusted")
	ecKey := testKey(f, KeyECDSAP256, "trusted")
	edKey := testKey(f, KeyEd25519, "trusted")
	caKey := testKey(f, KeyECDSAP384, "ca")
	attacker := testKey(f, KeyECDSAP256, "attacker")
	ca := newCert(f, caKey, "Wharf CA", true, nil, nil)
	leaf := newCert(f, ecKey, "token signer", false, ca, caKey)
	trusted := []crypto.PublicKey{rsaKey.Public(), ecKey.Public(), edKey.Public()}

	v := mustVerifier(f, VerifierConfig{
		Roots: []*x509.Certificate{ca},
		Keys:  trusted,
		JWKS:  mustJWKS(f, JWK{KeyID: "jwks-key", Key: edKey.Public()}),
	})

	claims := claimsAt(testNow)
	for _, kid := range []string{Thumbprint(rsaKey.Public()), LibtrustKeyID(rsaKey.Public())} {
		f.Add(signJOSE(f, rsaKey, jose.RS256, kid, nil, claims))
	}
	f.Add(signJOSE(f, ecKey, jose.ES256, "", map[string]any{"x5c": x5cOf(leaf, ca)}, claims))
	f.Add(signJOSE(f, edKey, jose.EdDSA, "jwks-key", nil, claims))
	f.Add(signJOSE(f, ecKey, jose.ES256, "", map[string]any{"jwk": jose.JSONWebKey{Key: ecKey.Public()}}, claims))
	f.Add(signJOSE(f, attacker, jose.ES256, Thumbprint(ecKey.Public()), nil, claims))
	f.Add(signJOSE(f, attacker, jose.ES256, "", map[string]any{"jwk": jose.JSONWebKey{Key: attacker.Public()}}, claims))
	f.Add(signJOSE(f, ecKey, jose.ES256, Thumbprint(ecKey.Public()), nil, with(claims, "aud", []string{"x", testService})))
	iss := mustIssuer(f, IssuerConfig{Key: rsaKey, Chain: []*x509.Certificate{newCert(f, rsaKey, "rsa", false, nil, nil)}})
	tok, err := iss.Issue(context.Background(), "alice", testService, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok.Raw)
	f.Add(craft(f, map[string]any{"alg": "none"}, claims, func([]byte) []byte { return nil }))
	f.Add(craft(f, map[string]any{"alg": "HS256", "kid": Thumbprint(rsaKey.Public())}, claims, func(in []byte) []byte {
		der, _ := x509.MarshalPKIXPublicKey(rsaKey.Public())
		m := hmac.New(sha256.New, der)
		m.Write(in)
		return m.Sum(nil)
	}))
	for _, s := range []string{"", ".", "..", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..", "garbage"} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(raw)
		if err != nil {
			if c != nil {
				t.Fatalf("claims with an error: %v", err)
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q wraps %d sentinels", err, n)
			}
			return
		}
		jws, perr := jose.ParseSignedCompact(raw, allowedAlgorithms)
		if perr != nil {
			t.Fatalf("accepted a token go-jose cannot parse: %v", perr)
		}
		signed := slices.ContainsFunc(trusted, func(k crypto.PublicKey) bool {
			payload, err := jws.Verify(k)
			return err == nil && bytes.Equal(payload, jws.UnsafePayloadWithoutVerification())
		})
		if !signed {
			t.Fatalf("accepted a token no trusted key signed: %q", raw)
		}
		if c.Issuer != testIssuer || !slices.Contains(c.Audience, testService) || c.Expiry.IsZero() {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}

// FuzzKeyID checks the key-id parsing behind libtrust lookups and
// diagnostics: no panics, and only the canonical spelling parses.
func FuzzKeyID(f *testing.F) {
	for _, s := range []string{rsaLibtrust, ecP256Libtrust, rsaThumbprint, "", ":", "AAAA:", "key-1",
		"AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA",
		"AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAA="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, kid string) {
		if b, ok := parseLibtrustID(kid); ok {
			if len(b) != libtrustIDBytes || formatLibtrustID(b) != kid {
				t.Fatalf("%q parses to %x, which formats as %q", kid, b, formatLibtrustID(b))
			}
			if describeKeyID(kid) != "libtrust fingerprint" {
				t.Fatalf("describeKeyID(%q) = %q", kid, describeKeyID(kid))
			}
		}
		_ = describeKeyID(kid)

		sum := sha256.Sum256([]byte(kid))
		id := formatLibtrustID(sum[:libtrustIDBytes])
		back, ok := parseLibtrustID(id)
		if !ok || !bytes.Equal(back, sum[:libtrustIDBytes]) || len(id) != 59 {
			t.Fatalf("%q does not round-trip", id)
		}
	})
}
