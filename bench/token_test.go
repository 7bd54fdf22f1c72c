package bench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/authn/static"
	"wharf/internal/auth/authz"
	"wharf/internal/auth/token"
	"wharf/internal/auth/tokenserver"
)

// BenchmarkTokenIssuance measures tokens per second for one logged-in user
// asking for pull and push on one repository (what every layer of a
// `docker push` costs), with the verified-credentials cache on and off.
// bcrypt runs at its default cost (10), as `htpasswd -nB` and `wharf
// hash-password` produce.
func BenchmarkTokenIssuance(b *testing.B) {
	hash, err := bcrypt.GenerateFromPassword([]byte("benchmark-password"), bcrypt.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	users, err := static.New(map[string]static.User{"alice": {Password: auth.Secret(hash)}})
	if err != nil {
		b.Fatal(err)
	}
	account := "alice"
	acl, err := authz.New([]authz.Rule{{Match: authz.Match{Account: &account}, Actions: []string{"*"}}})
	if err != nil {
		b.Fatal(err)
	}
	key, err := token.GenerateKey(token.KeyECDSAP256)
	if err != nil {
		b.Fatal(err)
	}
	issuer, err := token.NewIssuer(token.IssuerConfig{Issuer: "wharf", Key: key, Expiration: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name  string
		authn authn.Authenticator
	}{
		{"cache=off", users},
		{"cache=on", authn.NewCache(users, authn.CacheOptions{})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts, err := tokenserver.New(tokenserver.Config{Service: "wharf", Issuer: issuer, Authn: tc.authn, Authz: acl,
				// Every login succeeds, so the default limiter never limits.
				Log: log})
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/auth?service=wharf&scope=repository:alice/app:pull,push", nil)
			req.SetBasicAuth("alice", "benchmark-password")
			req.RemoteAddr = "127.0.0.1:40000"
			b.ResetTimer()
			for range b.N {
				rec := httptest.NewRecorder()
				ts.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
