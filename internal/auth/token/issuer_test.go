package token

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/auth"
)

func TestNewIssuerRejects(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyECDSAP256, "trusted")
	other := testKey(t, KeyECDSAP256, "attacker")
	ca := newCert(t, testKey(t, KeyECDSAP384, "ca"), "CA", true, nil, nil)
	leaf := newCert(t, key, "signer", false, ca, testKey(t, KeyECDSAP384, "ca"))
	expired := newCertValid(t, key, "old", false, nil, nil, testNow.Add(-48*time.Hour), testNow.Add(-24*time.Hour))

	tests := []struct {
		name string
		cfg  IssuerConfig
		want string
	}{
		{"no issuer", IssuerConfig{Key: key}, "issuer is empty"},
		{"no key", IssuerConfig{Issuer: testIssuer}, "no signing key"},
		{"negative expiration", IssuerConfig{Issuer: testIssuer, Key: key, Expiration: -time.Second}, "not a positive number of seconds"},
		{"sub-second expiration", IssuerConfig{Issuer: testIssuer, Key: key, Expiration: time.Millisecond}, "not a positive number of seconds"},
		{"chain of another key", IssuerConfig{Issuer: testIssuer, Key: other, Chain: []*x509.Certificate{leaf, ca}}, "does not hold the signing key"},
		{"chain in wrong order", IssuerConfig{Issuer: testIssuer, Key: key, Chain: []*x509.Certificate{leaf, leaf}}, "is not signed by certificate 1"},
		{"expired certificate", IssuerConfig{Issuer: testIssuer, Key: key, Chain: []*x509.Certificate{expired}}, "not now"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Now = clock
			_, err := NewIssuer(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("every problem at once", func(t *testing.T) {
		t.Parallel()
		_, err := NewIssuer(IssuerConfig{Expiration: -1})
		for _, want := range []string{"issuer is empty", "positive", "no signing key"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to mention %q", err, want)
			}
		}
	})
}

// TestIssuedShape pins the exact JSON of a token: distribution v2.8 reads
// aud as one string, and actions must be [] (never null) for denied scopes.
func TestIssuedShape(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyECDSAP256, "trusted")
	cert := newCert(t, key, "signer", false, nil, nil)
	tests := []struct {
		name       string
		chain      []*x509.Certificate
		subject    string
		access     []auth.Access
		wantHeader []string
		wantAccess string
	}{
		{
			name:    "pull granted, push denied, plugin class",
			subject: "alice",
			access: []auth.Access{
				{Type: "repository", Name: "team/app", Actions: []string{"pull"}},
				{Type: "repository", Name: "team/other"},
				{Type: "repository", Class: "plugin", Name: "p", Actions: []string{}},
			},
			wantHeader: []string{"alg", "kid", "typ"},
			wantAccess: `[{"type":"repository","name":"team/app","actions":["pull"]},` +
				`{"type":"repository","name":"team/other","actions":[]},` +
				`{"type":"repository","class":"plugin","name":"p","actions":[]}]`,
		},
		{
			name:       "anonymous, nothing asked, with x5c",
			chain:      []*x509.Certificate{cert},
			wantHeader: []string{"alg", "kid", "typ", "x5c"},
			wantAccess: `[]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iss := mustIssuer(t, IssuerConfig{Key: key, Chain: tc.chain, Expiration: 900 * time.Second})
			tok, err := iss.Issue(context.Background(), tc.subject, testService, tc.access)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(tok.Raw, ".")
			if len(parts) != 3 {
				t.Fatalf("token has %d parts", len(parts))
			}
			var header, claims map[string]json.RawMessage
			decodeSegment(t, parts[0], &header)
			decodeSegment(t, parts[1], &claims)

			if diff := cmp.Diff(tc.wantHeader, sortedKeys(header)); diff != "" {
				t.Errorf("header members (-want +got):\n%s", diff)
			}
			wantHeader := map[string]string{"alg": `"ES256"`, "typ": `"JWT"`, "kid": fmt.Sprintf("%q", Thumbprint(key.Public()))}
			for k, want := range wantHeader {
				if got := string(header[k]); got != want {
					t.Errorf("header %s = %s, want %s", k, got, want)
				}
			}
			if tc.chain != nil {
				if got, want := string(header["x5c"]), mustJSON(t, x5cOf(tc.chain...)); got != want {
					t.Errorf("x5c = %s, want %s", got, want)
				}
			}

			if diff := cmp.Diff([]string{"access", "aud", "exp", "iat", "iss", "jti", "nbf", "sub"}, sortedKeys(claims)); diff != "" {
				t.Errorf("claim names (-want +got):\n%s", diff)
			}
			iat := testNow.Unix()
			wantClaims := map[string]string{
				"iss":    `"Auth Service"`,
				"sub":    fmt.Sprintf("%q", tc.subject),
				"aud":    `"Docker registry"`,
				"iat":    fmt.Sprint(iat),
				"nbf":    fmt.Sprint(iat),
				"exp":    fmt.Sprint(iat + 900),
				"jti":    fmt.Sprintf("%q", tok.JTI),
				"access": tc.wantAccess,
			}
			for k, want := range wantClaims {
				if got := string(claims[k]); got != want {
					t.Errorf("claim %s = %s, want %s", k, got, want)
				}
			}
			if tok.ExpiresIn != 900*time.Second || !tok.IssuedAt.Equal(testNow) {
				t.Errorf("ExpiresIn = %s, IssuedAt = %s", tok.ExpiresIn, tok.IssuedAt)
			}
		})
	}
}

func TestIssueJTI(t *testing.T) {
	t.Parallel()
	iss := mustIssuer(t, IssuerConfig{Key: testKey(t, KeyEd25519, "trusted")})
	seen := map[string]bool{}
	for range 100 {
		tok, err := iss.Issue(context.Background(), "alice", testService, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := b64url.DecodeString(tok.JTI)
		if err != nil || len(b) < 16 {
			t.Fatalf("jti %q is not 128 bits of base64url: %v", tok.JTI, err)
		}
		if seen[tok.JTI] {
			t.Fatalf("jti %q repeated", tok.JTI)
		}
		seen[tok.JTI] = true
		if tok.ExpiresIn != DefaultExpiration {
			t.Fatalf("ExpiresIn = %s, want the default %s", tok.ExpiresIn, DefaultExpiration)
		}
	}
}

func TestIssueRejects(t *testing.T) {
	t.Parallel()
	iss := mustIssuer(t, IssuerConfig{Key: testKey(t, KeyECDSAP256, "trusted")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := iss.Issue(ctx, "alice", testService, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	if _, err := iss.Issue(context.Background(), "alice", "", nil); !errors.Is(err, ErrIssue) {
		t.Errorf("empty audience: err = %v", err)
	}
	if _, err := iss.Issue(context.Background(), "alice", testService, []auth.Access{{Type: "repository"}}); !errors.Is(err, ErrIssue) {
		t.Errorf("nameless access: err = %v", err)
	}
}

func TestTokenNeverPrintsRaw(t *testing.T) {
	t.Parallel()
	iss := mustIssuer(t, IssuerConfig{Key: testKey(t, KeyECDSAP256, "trusted")})
	tok, err := iss.Issue(context.Background(), "alice", testService, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("issued", "token", tok)
	secret := strings.Split(tok.Raw, ".")[2]
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v", tok), fmt.Sprintf("%+v", tok), fmt.Sprintf("%#v", tok), logged.String()} {
		if strings.Contains(s, secret) {
			t.Errorf("the raw token leaks into %q", s)
		}
		if !strings.Contains(s, tok.JTI) {
			t.Errorf("%q does not name the jti", s)
		}
	}
}

func TestIssuerJWKS(t *testing.T) {
	t.Parallel()
	key := testKey(t, KeyECDSAP384, "trusted")
	iss := mustIssuer(t, IssuerConfig{Key: key})
	keys, err := ParseJWKS(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	want := []JWK{{KeyID: iss.KeyID(), Algorithm: "ES384", Key: key.Public()}}
	if diff := cmp.Diff(want, keys, keyComparer); diff != "" {
		t.Errorf("JWKS (-want +got):\n%s", diff)
	}
	if iss.Algorithm() != "ES384" || !samePublicKey(iss.PublicKey(), key.Public()) {
		t.Errorf("Algorithm = %s", iss.Algorithm())
	}
	v := mustVerifier(t, VerifierConfig{JWKS: iss.JWKS()})
	tok, err := iss.Issue(context.Background(), "alice", testService, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(tok.Raw); err != nil {
		t.Errorf("a verifier given only the issuer's JWKS refuses its token: %v", err)
	}
}

func decodeSegment(t testing.TB, seg string, v any) {
	t.Helper()
	b, err := b64url.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
