package ociapi_test

import (
	"bytes"
	"context"
	"crypto"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/token"
	"wharf/internal/ociapi"
)

// TestTokenRejectedLogLevel: an expired token, which every client meets
// once its token's lifetime has passed and answers by fetching another, is
// logged as information; a token the registry can never accept (another
// issuer: a misconfiguration) as a warning. Both are answered 401.
func TestTokenRejectedLogLevel(t *testing.T) {
	t.Parallel()
	key, err := token.GenerateKey(token.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(issuer string) string {
		iss, err := token.NewIssuer(token.IssuerConfig{Issuer: issuer, Key: key, Expiration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := iss.Issue(context.Background(), "alice", "registry", []auth.Access{{Type: "repository", Name: "app", Actions: []string{"pull"}}})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Raw
	}
	now := time.Now()
	later := func() time.Time { return now.Add(time.Hour) }
	verifier := func(clock func() time.Time) *token.Verifier {
		v, err := token.NewVerifier(token.VerifierConfig{Issuer: "wharf", Service: "registry", Keys: []crypto.PublicKey{key.Public()}, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		raw   string
		clock func() time.Time
		want  string
	}{
		{"expired", issue("wharf"), later, "level=INFO"},
		{"another issuer", issue("someone-else"), nil, "level=WARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			a := &ociapi.TokenAuth{
				Verifier: verifier(tc.clock),
				Realm:    func(*http.Request) string { return "https://registry.test/auth/token" },
				Service:  "registry",
				Log:      slog.New(slog.NewTextHandler(&logs, nil)),
			}
			r := httptest.NewRequest("GET", "/v2/app/manifests/latest", nil)
			r.Header.Set("Authorization", "Bearer "+tc.raw)
			if _, err := a.Authorize(r, []auth.Access{{Type: "repository", Name: "app", Actions: []string{"pull"}}}); err == nil {
				t.Fatal("the token was accepted")
			}
			line := logs.String()
			if !strings.Contains(line, `msg="token rejected"`) || !strings.Contains(line, tc.want) {
				t.Errorf("logged %q; want %s", line, tc.want)
			}
		})
	}
}
