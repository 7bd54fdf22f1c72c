package token

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"hash"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"wharf/internal/auth"
)

// securityWorld is a registry that trusts an RSA key by its certificate, an
// ECDSA key by a bare key, and a CA for x5c chains; and an attacker who
// knows all the public parts.
type securityWorld struct {
	v                   *Verifier
	rsaKey, ecKey       crypto.Signer
	caKey, attacker     crypto.Signer
	ca, rsaCert, ecLeaf *x509.Certificate
	valid               string // a valid token from the ECDSA key
}

func newSecurityWorld(t testing.TB) *securityWorld {
	w := &securityWorld{
		rsaKey:   testKey(t, KeyRSA2048, "trusted"),
		ecKey:    testKey(t, KeyECDSAP256, "trusted"),
		caKey:    testKey(t, KeyECDSAP384, "ca"),
		attacker: testKey(t, KeyECDSAP256, "attacker"),
	}
	w.ca = newCert(t, w.caKey, "Wharf CA", true, nil, nil)
	w.rsaCert = newCert(t, w.rsaKey, "auth-server.io", false, nil, nil)
	w.ecLeaf = newCert(t, w.ecKey, "token signer", false, w.ca, w.caKey)
	w.v = mustVerifier(t, VerifierConfig{
		Roots: []*x509.Certificate{w.ca, w.rsaCert},
		Keys:  []crypto.PublicKey{w.ecKey.Public()},
	})
	w.valid = signJOSE(t, w.ecKey, jose.ES256, Thumbprint(w.ecKey.Public()), nil, claimsAt(testNow))
	return w
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	w := newSecurityWorld(t)
	if _, err := w.v.Verify(w.valid); err != nil {
		t.Fatalf("the valid token of the table is refused: %v", err)
	}
	rsaKid := Thumbprint(w.rsaKey.Public())
	ecKid := Thumbprint(w.ecKey.Public())
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.rsaCert.Raw})
	rsaPubDER, _ := x509.MarshalPKIXPublicKey(w.rsaKey.Public())
	hs := func(key []byte, newHash func() hash.Hash) func([]byte) []byte {
		return func(in []byte) []byte {
			m := hmac.New(newHash, key)
			m.Write(in)
			return m.Sum(nil)
		}
	}
	noSig := func([]byte) []byte { return nil }
	claims := claimsAt(testNow)
	parts := strings.Split(w.valid, ".")
	attackerCA := newCert(t, w.attacker, "Wharf CA", true, nil, nil) // same name as the real CA
	attackerLeaf := newCert(t, w.attacker, "token signer", false, attackerCA, w.attacker)
	otherIssuer := mustIssuer(t, IssuerConfig{Key: w.ecKey, Issuer: "someone else"})
	huge := make([]auth.Access, 0, 2000)
	for range cap(huge) {
		huge = append(huge, auth.Access{Type: "repository", Name: "team/app-with-a-long-name", Actions: []string{"pull"}})
	}
	hugeTok, err := mustIssuer(t, IssuerConfig{Key: w.ecKey}).Issue(context.Background(), "alice", testService, huge)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  error
		msg   string // a part of the message, when it matters
	}{
		// Algorithms.
		{"alg none", func(t *testing.T) string {
			return craft(t, map[string]any{"alg": "none", "typ": "JWT", "kid": ecKid}, claims, noSig)
		}, ErrAlgorithm, `algorithm "none" is not allowed`},
		{"alg None", func(t *testing.T) string {
			return craft(t, map[string]any{"alg": "None", "kid": ecKid}, claims, noSig)
		}, ErrAlgorithm, ""},
		{"no alg", func(t *testing.T) string { return craft(t, map[string]any{"kid": ecKid}, claims, noSig) }, ErrMalformed, ""},
		{"HS256 keyed with the certificate PEM", func(t *testing.T) string {
			return craft(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": rsaKid}, claims, hs(rsaPubPEM, sha256.New))
		}, ErrAlgorithm, `"HS256"`},
		{"HS256 keyed with the public key DER", func(t *testing.T) string {
			return craft(t, map[string]any{"alg": "HS256", "kid": rsaKid}, claims, hs(rsaPubDER, sha256.New))
		}, ErrAlgorithm, ""},
		{"HS512 with x5c of the trusted certificate", func(t *testing.T) string {
			return craft(t, map[string]any{"alg": "HS512", "x5c": x5cOf(w.rsaCert)}, claims, hs(rsaPubPEM, sha512.New))
		}, ErrAlgorithm, ""},
		{"PS256 by the trusted key", func(t *testing.T) string {
			return signJOSE(t, w.rsaKey, jose.PS256, rsaKid, nil, claims)
		}, ErrAlgorithm, ""},
		{"ES256 declared for the RSA key", func(t *testing.T) string {
			return craft(t, map[string]any{"alg": "ES256", "kid": rsaKid}, claims, func([]byte) []byte { return make([]byte, 64) })
		}, ErrAlgorithm, "does not fit the signing key"},
		{"ES384 by a P-256 key", func(t *testing.T) string {
			return craft(t, map[string]any{"alg": "ES384", "kid": ecKid}, claims, func([]byte) []byte { return make([]byte, 96) })
		}, ErrAlgorithm, "signs with ES256"},

		// Time.
		{"expired", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, claimsAt(testNow.Add(-time.Hour)))
		}, ErrExpired, "expired at 2030-03-04T04:11:07Z"},
		{"no exp", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "exp", nil))
		}, ErrMalformed, "no expiry"},
		{"not yet valid", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, claimsAt(testNow.Add(time.Hour)))
		}, ErrNotYetValid, "clocks"},
		{"issued in the future", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "iat", testNow.Add(time.Hour).Unix()))
		}, ErrNotYetValid, "issued at"},
		{"exp beyond any date", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "exp", 1e300))
		}, ErrMalformed, ""},
		{"exp as a string", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "exp", "tomorrow"))
		}, ErrMalformed, ""},

		// Issuer and audience.
		{"wrong issuer", func(t *testing.T) string {
			tok, err := otherIssuer.Issue(context.Background(), "alice", testService, nil)
			if err != nil {
				t.Fatal(err)
			}
			return tok.Raw
		}, ErrIssuer, `issuer "someone else" does not match configured issuer "Auth Service"`},
		{"issuer with literal quotes", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "iss", `"Auth Service"`))
		}, ErrIssuer, `token: issuer "\"Auth Service\"" does not match configured issuer "Auth Service" (they differ only by quotes`},
		{"no issuer", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "iss", nil))
		}, ErrIssuer, ""},
		{"wrong audience", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "aud", "x"))
		}, ErrAudience, `token: audience ["x"] does not contain service "Docker registry"`},
		{"audience array without the service", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "aud", []string{"a", "b"}))
		}, ErrAudience, `["a" "b"]`},
		{"no audience", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "aud", nil))
		}, ErrAudience, "no audience"},
		{"null audience", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "aud", json.RawMessage("null")))
		}, ErrAudience, "no audience"},
		{"empty audience", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "aud", ""))
		}, ErrAudience, `[""]`},

		// Keys.
		{"unknown key by thumbprint", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, Thumbprint(w.attacker.Public()), nil, claims)
		}, ErrUnknownKey, "RFC 7638 thumbprint"},
		{"unknown key by libtrust id", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, LibtrustKeyID(w.attacker.Public()), nil, claims)
		}, ErrUnknownKey, LibtrustKeyID(w.rsaKey.Public())},
		{"no key named", func(t *testing.T) string { return signJOSE(t, w.attacker, jose.ES256, "", nil, claims) }, ErrUnknownKey, "names no key"},
		{"kid of a trusted key, signed by another", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, ecKid, nil, claims)
		}, ErrSignature, ""},
		{"libtrust kid of a trusted key, signed by another", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, LibtrustKeyID(w.ecKey.Public()), nil, claims)
		}, ErrSignature, ""},
		{"jwk header with the attacker's key", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, "", map[string]any{"jwk": jose.JSONWebKey{Key: w.attacker.Public()}}, claims)
		}, ErrUnknownKey, "never vouches for itself"},
		{"jwk header of the attacker and a trusted kid", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, ecKid, map[string]any{"jwk": jose.JSONWebKey{Key: w.attacker.Public()}}, claims)
		}, ErrSignature, ""},
		{"jwk header of a trusted key, signed by another", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, "", map[string]any{"jwk": jose.JSONWebKey{Key: w.ecKey.Public()}}, claims)
		}, ErrSignature, ""},
		{"x5c self-signed by the attacker", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, "", map[string]any{"x5c": x5cOf(attackerCA)}, claims)
		}, ErrUnknownKey, "does not chain to the root bundle"},
		{"x5c chain to the attacker's look-alike CA", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, "", map[string]any{"x5c": x5cOf(attackerLeaf, attackerCA)}, claims)
		}, ErrUnknownKey, ""},
		{"x5c of the attacker with a trusted kid", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, ecKid, map[string]any{"x5c": x5cOf(attackerLeaf, w.ca)}, claims)
		}, ErrUnknownKey, ""},
		{"x5c of the trusted chain, signed by the attacker", func(t *testing.T) string {
			return signJOSE(t, w.attacker, jose.ES256, "", map[string]any{"x5c": x5cOf(w.ecLeaf, w.ca)}, claims)
		}, ErrSignature, ""},
		{"x5c garbage", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, "", map[string]any{"x5c": []string{"bm90IGEgY2VydA=="}}, claims)
		}, ErrMalformed, ""},
		{"crit header", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, map[string]any{"crit": []string{"exp"}, "exp": 1}, claims)
		}, ErrMalformed, `"crit"`},

		// Tampering and garbage.
		{"tampered payload", func(t *testing.T) string {
			forged := craft(t, map[string]any{}, with(claims, "sub", "admin"), noSig)
			return parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
		}, ErrSignature, ""},
		{"tampered signature", func(t *testing.T) string {
			sig, err := b64url.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			sig[5] ^= 1
			return parts[0] + "." + parts[1] + "." + b64url.EncodeToString(sig)
		}, ErrSignature, ""},
		{"signature removed", func(t *testing.T) string { return parts[0] + "." + parts[1] + "." }, ErrSignature, ""},
		{"truncated", func(t *testing.T) string { return w.valid[:len(w.valid)/2] }, ErrMalformed, ""},
		{"two parts", func(t *testing.T) string { return parts[0] + "." + parts[1] }, ErrMalformed, ""},
		{"four parts", func(t *testing.T) string { return w.valid + "." + parts[2] }, ErrMalformed, ""},
		{"JSON serialization", func(t *testing.T) string {
			return `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`
		}, ErrMalformed, ""},
		{"leading space", func(t *testing.T) string { return " " + w.valid }, ErrMalformed, ""},
		{"garbage", func(t *testing.T) string { return "garbage" }, ErrMalformed, ""},
		{"dots", func(t *testing.T) string { return ".." }, ErrMalformed, ""},
		{"empty", func(t *testing.T) string { return "" }, ErrMalformed, "empty"},
		{"header not JSON", func(t *testing.T) string {
			return b64url.EncodeToString([]byte("alg")) + "." + parts[1] + "." + parts[2]
		}, ErrMalformed, ""},
		{"claims not an object", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, []string{"iss"})
		}, ErrMalformed, "claims"},
		{"access not a list", func(t *testing.T) string {
			return signJOSE(t, w.ecKey, jose.ES256, ecKid, nil, with(claims, "access", "repository:a:pull"))
		}, ErrMalformed, ""},
		{"oversized", func(t *testing.T) string { return strings.Repeat("a", MaxTokenSize+1) }, ErrMalformed, "limit"},
		{"oversized but validly signed", func(t *testing.T) string { return hugeTok.Raw }, ErrMalformed, "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := tc.token(t)
			c, err := w.v.Verify(raw)
			if c != nil {
				t.Errorf("claims returned with an error: %+v", c)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("err = %v also wraps %v", err, s)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to contain %q", err, tc.msg)
			}
			if p := strings.Split(raw, "."); len(p) == 3 && len(p[2]) > 8 && strings.Contains(err.Error(), p[2]) {
				t.Errorf("the message leaks the signature: %q", err)
			}
			if len(err.Error()) > 1024 {
				t.Errorf("message of %d bytes", len(err.Error()))
			}
		})
	}
}
