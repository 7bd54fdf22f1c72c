package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// Key ids of the testdata keys, computed with openssl, sha256sum, base32
// and sed (testdata/README.md), not with this package.
const (
	ecP256Libtrust   = "VWGA:A7S2:TALU:UOMT:PPTZ:NLHS:M7MH:WSQJ:E5MM:PET6:MB7I:JHXG"
	ecP256Thumbprint = "sP5eoOO5PBfbpU0s9SyMnf-KEYdbPjAFjIR3n7iKIak"
	rsaLibtrust      = "Z6RA:7KSH:4KSO:RVTC:HK4J:4GNG:6PLH:6CEE:VW3L:2ATU:NPZK:FLCG"
	rsaThumbprint    = "r5jK8BSpxtpYhRJtmcRSPZ-4lqZxumigDhWAHP26HiM"
	ed25519Libtrust  = "37LS:7BIA:NENW:4APS:NR7B:5EIA:RSRL:M44W:23UN:UEVY:VKRZ:VYRD"
	ed25519Thumbprnt = "ju_E5dx5jFeZtKixiyf8KgAt3vKeHKMpX4Sh_RUKXL8"
)

func TestKeyIDVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file                 string
		libtrust, thumbprint string
	}{
		{"ec-p256-sec1.pem", ecP256Libtrust, ecP256Thumbprint},
		{"ec-p256-pkcs8.pem", ecP256Libtrust, ecP256Thumbprint},
		{"rsa-2048-pkcs1.pem", rsaLibtrust, rsaThumbprint},
		{"rsa-2048-pkcs8.pem", rsaLibtrust, rsaThumbprint},
		{"ed25519-pkcs8.pem", ed25519Libtrust, ed25519Thumbprnt},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			pub := fixtureKey(t, tc.file).Public()
			if got := LibtrustKeyID(pub); got != tc.libtrust {
				t.Errorf("LibtrustKeyID = %s, want %s", got, tc.libtrust)
			}
			if got := Thumbprint(pub); got != tc.thumbprint {
				t.Errorf("Thumbprint = %s, want %s", got, tc.thumbprint)
			}
		})
	}
}

// TestThumbprintRFC7638 checks the example of RFC 7638 section 3.1.
func TestThumbprintRFC7638(t *testing.T) {
	t.Parallel()
	const n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	nb, err := b64url.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: 65537}
	if got, want := Thumbprint(pub), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
}

// TestKeyIDsIndependently recomputes both ids from their definitions for
// generated keys of every kind, P-521 with its odd-length coordinates too.
func TestKeyIDsIndependently(t *testing.T) {
	t.Parallel()
	for _, kind := range []KeyKind{KeyECDSAP256, KeyECDSAP384, KeyECDSAP521, KeyRSA2048, KeyEd25519} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			pub := testKey(t, kind, "trusted").Public()

			der, err := x509.MarshalPKIXPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(der)
			s := strings.TrimRight(base32.StdEncoding.EncodeToString(sum[:30]), "=")
			var groups []string
			for len(s) > 0 {
				groups, s = append(groups, s[:4]), s[4:]
			}
			if got, want := LibtrustKeyID(pub), strings.Join(groups, ":"); got != want || len(groups) != 12 {
				t.Errorf("LibtrustKeyID = %s, want %s", got, want)
			}

			var canonical string
			switch k := pub.(type) {
			case *ecdsa.PublicKey:
				size := (k.Curve.Params().BitSize + 7) / 8
				raw, err := k.Bytes() // 0x04 || X || Y, each size bytes
				if err != nil {
					t.Fatal(err)
				}
				canonical = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, k.Curve.Params().Name,
					b64url.EncodeToString(raw[1:1+size]), b64url.EncodeToString(raw[1+size:]))
			case *rsa.PublicKey:
				canonical = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`,
					b64url.EncodeToString(big.NewInt(int64(k.E)).Bytes()), b64url.EncodeToString(k.N.Bytes()))
			case ed25519.PublicKey:
				canonical = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64url.EncodeToString(k))
			}
			tp := sha256.Sum256([]byte(canonical))
			if got, want := Thumbprint(pub), b64url.EncodeToString(tp[:]); got != want {
				t.Errorf("Thumbprint = %s, want %s", got, want)
			}
		})
	}
}

func TestKeyIDUnsupported(t *testing.T) {
	t.Parallel()
	for _, pub := range []crypto.PublicKey{nil, "key", &rsa.PublicKey{}, &ecdsa.PublicKey{Curve: elliptic.P224()}, ed25519.PublicKey{1, 2}} {
		if got := Thumbprint(pub); got != "" {
			t.Errorf("Thumbprint(%T) = %q, want empty", pub, got)
		}
		if got := LibtrustKeyID(pub); got != "" {
			t.Errorf("LibtrustKeyID(%T) = %q, want empty", pub, got)
		}
	}
}

func TestParseLibtrustID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kid  string
		want bool
	}{
		{ecP256Libtrust, true},
		{rsaLibtrust, true},
		{strings.ToLower(rsaLibtrust), false},
		{strings.ReplaceAll(rsaLibtrust, ":", ""), false},
		{rsaLibtrust + ":AAAA", false},
		{rsaLibtrust[:len(rsaLibtrust)-1] + "1", false}, // 1 is not base32
		{"AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAAA:AAA:A", false},
		{"", false},
		{rsaThumbprint, false},
	}
	for _, tc := range tests {
		b, ok := parseLibtrustID(tc.kid)
		if ok != tc.want {
			t.Errorf("parseLibtrustID(%q) ok = %v, want %v", tc.kid, ok, tc.want)
		}
		if ok && formatLibtrustID(b) != tc.kid {
			t.Errorf("parseLibtrustID(%q) does not round-trip", tc.kid)
		}
	}
	if got := describeKeyID(rsaThumbprint); got != "RFC 7638 thumbprint" {
		t.Errorf("describeKeyID(thumbprint) = %q", got)
	}
	if got := describeKeyID(rsaLibtrust); got != "libtrust fingerprint" {
		t.Errorf("describeKeyID(libtrust) = %q", got)
	}
	if got := describeKeyID("key-1"); got != "opaque key id" {
		t.Errorf("describeKeyID(key-1) = %q", got)
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		want    string // the key's type, or "" for an error
		wantErr string
	}{
		{file: "ec-p256-sec1.pem", want: "*ecdsa.PrivateKey P-256"},
		{file: "ec-p256-pkcs8.pem", want: "*ecdsa.PrivateKey P-256"},
		{file: "ec-p256-with-params.pem", want: "*ecdsa.PrivateKey P-256"},
		{file: "ec-p384-sec1.pem", want: "*ecdsa.PrivateKey P-384"},
		{file: "rsa-2048-pkcs1.pem", want: "*rsa.PrivateKey 2048"},
		{file: "rsa-2048-pkcs8.pem", want: "*rsa.PrivateKey 2048"},
		{file: "ed25519-pkcs8.pem", want: "ed25519.PrivateKey"},
		{file: "ec-p256-encrypted.pem", wantErr: "encrypted"},
		{file: "rsa-2048-pkix-pub.pem", wantErr: `"PUBLIC KEY" where a private key is expected`},
		{file: "rsa-2048-cert.pem", wantErr: "no private key"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			key, err := ParsePrivateKeyPEM(readFixture(t, tc.file))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrKey containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describeKey(key); got != tc.want {
				t.Errorf("key = %s, want %s", got, tc.want)
			}
		})
	}

	t.Run("combined key and certificate", func(t *testing.T) {
		t.Parallel()
		data := append(readFixture(t, "rsa-2048-cert.pem"), readFixture(t, "rsa-2048-pkcs1.pem")...)
		if _, err := ParsePrivateKeyPEM(data); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("two keys", func(t *testing.T) {
		t.Parallel()
		data := append(readFixture(t, "ec-p256-sec1.pem"), readFixture(t, "rsa-2048-pkcs1.pem")...)
		if _, err := ParsePrivateKeyPEM(data); err == nil || !strings.Contains(err.Error(), "more than one") {
			t.Fatalf("err = %v, want more than one key", err)
		}
	})
	t.Run("short RSA", func(t *testing.T) {
		t.Parallel()
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Skip("1024-bit RSA refused by this Go:", err)
		}
		pemKey, err := EncodePrivateKeyPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParsePrivateKeyPEM(pemKey); err == nil || !strings.Contains(err.Error(), "shorter than 2048") {
			t.Fatalf("err = %v, want too short", err)
		}
	})
}

func describeKey(k any) string {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return "*ecdsa.PrivateKey " + k.Curve.Params().Name
	case *rsa.PrivateKey:
		return fmt.Sprintf("*rsa.PrivateKey %d", k.N.BitLen())
	default:
		return fmt.Sprintf("%T", k)
	}
}

func TestParseCertificatesAndPublicKeys(t *testing.T) {
	t.Parallel()
	certs, err := ParseCertificatesPEM(append([]byte("Certificate:\n    Data: (openssl x509 -text)\n"), readFixture(t, "rsa-2048-cert.pem")...))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || LibtrustKeyID(certs[0].PublicKey) != rsaLibtrust {
		t.Fatalf("certificates = %d, first key %s", len(certs), LibtrustKeyID(certs[0].PublicKey))
	}
	if _, err := ParseCertificatesPEM(append(readFixture(t, "rsa-2048-cert.pem"), readFixture(t, "rsa-2048-pkcs1.pem")...)); err == nil ||
		!strings.Contains(err.Error(), "must not hold the signing key") {
		t.Errorf("bundle with a private key: err = %v", err)
	}
	if _, err := ParseCertificatesPEM([]byte("nothing")); !errors.Is(err, ErrKey) {
		t.Errorf("no certificate: err = %v", err)
	}

	for _, file := range []string{"rsa-2048-pkix-pub.pem", "rsa-2048-pkcs1-pub.pem"} {
		keys, err := ParsePublicKeysPEM(readFixture(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(keys) != 1 || Thumbprint(keys[0]) != rsaThumbprint {
			t.Errorf("%s: keys = %d", file, len(keys))
		}
	}
	if _, err := ParsePublicKeysPEM(readFixture(t, "ec-p256-sec1.pem")); !errors.Is(err, ErrKey) {
		t.Errorf("private key as public key: err = %v", err)
	}
}

func TestGenerateKeyAndEncode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind KeyKind
		alg  string
	}{
		{"", "ES256"},
		{KeyECDSAP256, "ES256"},
		{KeyECDSAP384, "ES384"},
		{KeyECDSAP521, "ES512"},
		{KeyRSA2048, "RS256"},
		{KeyEd25519, "EdDSA"},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			key, err := GenerateKey(tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			alg, err := signingAlgorithm(key.Public())
			if err != nil || string(alg) != tc.alg {
				t.Errorf("alg = %s, %v; want %s", alg, err, tc.alg)
			}
			pemKey, err := EncodePrivateKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParsePrivateKeyPEM(pemKey)
			if err != nil {
				t.Fatal(err)
			}
			if !samePublicKey(back.Public(), key.Public()) {
				t.Error("key does not survive PEM encoding")
			}

			cert, err := SelfSignedCert(key, "wharf token signer", 24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			certs, err := ParseCertificatesPEM(EncodeCertificatesPEM(cert))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cert.Raw, certs[0].Raw); diff != "" {
				t.Errorf("certificate does not survive PEM encoding (-want +got):\n%s", diff)
			}
			if !samePublicKey(cert.PublicKey, key.Public()) || cert.Subject.CommonName != "wharf token signer" {
				t.Error("certificate does not hold the key or name")
			}
			if err := CheckTrust([]*x509.Certificate{cert}, cert); err != nil {
				t.Errorf("a self-signed certificate does not trust itself: %v", err)
			}
		})
	}
	if _, err := GenerateKey("dsa"); !errors.Is(err, ErrKey) {
		t.Errorf("GenerateKey(dsa) err = %v", err)
	}
	if _, err := SelfSignedCert(testKey(t, KeyECDSAP256, "trusted"), "x", 0); !errors.Is(err, ErrKey) {
		t.Errorf("SelfSignedCert(validity 0) err = %v", err)
	}
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	ec := testKey(t, KeyECDSAP256, "trusted").Public()
	rsaPub := fixtureKey(t, "rsa-2048-pkcs1.pem").Public()
	ed := testKey(t, KeyEd25519, "trusted").Public()

	set, err := MarshalJWKS(JWK{Key: ec}, JWK{Key: rsaPub, KeyID: rsaLibtrust}, JWK{Key: ed})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseJWKS(set)
	if err != nil {
		t.Fatal(err)
	}
	want := []JWK{
		{KeyID: Thumbprint(ec), Algorithm: "ES256", Key: ec},
		{KeyID: rsaLibtrust, Algorithm: "RS256", Key: rsaPub},
		{KeyID: Thumbprint(ed), Algorithm: "EdDSA", Key: ed},
	}
	if diff := cmp.Diff(want, got, keyComparer); diff != "" {
		t.Errorf("JWKS round trip (-want +got):\n%s", diff)
	}
	if strings.Contains(string(set), `"d"`) {
		t.Error("JWKS holds private material")
	}

	private, err := json.Marshal(map[string]any{"keys": []any{json.RawMessage(mustJWK(t, testKey(t, KeyECDSAP256, "trusted")))}})
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name, jwks, want string
	}{
		{"private key", string(private), "private or symmetric key material"},
		{"symmetric key", `{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA","kid":"hmac"}]}`, "private or symmetric"},
		{"encryption key", strings.Replace(string(set), `"use": "sig"`, `"use": "enc"`, 1), `not "sig"`},
		{"alg mismatch", strings.Replace(string(set), `"alg": "ES256"`, `"alg": "RS256"`, 1), `declares alg "RS256"`},
		{"HS alg", strings.Replace(string(set), `"alg": "ES256"`, `"alg": "HS256"`, 1), `declares alg "HS256"`},
		{"no keys member", `{"key":[]}`, `no "keys"`},
		{"not JSON", `keys`, "JWK Set"},
		{"duplicate kid", strings.Replace(string(set), fmt.Sprintf("%q", Thumbprint(ed)), fmt.Sprintf("%q", Thumbprint(ec)), 1), "two different keys"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseJWKS([]byte(tc.jwks))
			if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrKey containing %q", err, tc.want)
			}
		})
	}
	if _, err := MarshalJWKS(JWK{Key: testKey(t, KeyECDSAP256, "trusted")}); err == nil {
		t.Error("MarshalJWKS accepted a private key")
	}
}

func mustJWK(t testing.TB, key any) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyComparer compares public keys (interface values) by value.
var keyComparer = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Key" },
	cmp.Comparer(func(a, b crypto.PublicKey) bool { return samePublicKey(a, b) }))
