package tokenserver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
	"wharf/internal/auth/token"
	"wharf/internal/auth/tokenserver"
)

// failingAuthn and failingAuthz are backends that cannot decide, as a
// timed-out external program or an unreachable webhook.
type failingAuthn struct{}

func (failingAuthn) Authenticate(context.Context, string, auth.Secret) (authn.Result, auth.Labels, error) {
	return authn.WrongPassword, nil, errors.New("ext_auth: /opt/check: timed out after 10s; stderr: \"internal-detail\"")
}
func (failingAuthn) Name() string { return "failing" }

type acceptAll struct{}

func (acceptAll) Authenticate(context.Context, string, auth.Secret) (authn.Result, auth.Labels, error) {
	return authn.Accepted, nil, nil
}
func (acceptAll) Name() string { return "accept" }

type failingAuthz struct{}

func (failingAuthz) Authorize(context.Context, auth.Request) ([]string, error) {
	return nil, errors.New("webhook_authz: POST https://hooks.internal/authz: no answer within 10s")
}
func (failingAuthz) Name() string { return "failing" }

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBackendFailureIs503: a backend that cannot decide gives 503 with a
// message naming no backend detail, a log line with the reason, and never
// a token.
func TestBackendFailureIs503(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		authn    authn.Authenticator
		logWants string
	}{
		{"authentication", failingAuthn{}, "authentication backend failed"},
		{"authorization", acceptAll{}, "authorization backend failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs lockedBuffer
			key, err := token.GenerateKey(token.KeyECDSAP256)
			if err != nil {
				t.Fatal(err)
			}
			issuer, err := token.NewIssuer(token.IssuerConfig{Issuer: "wharf-test", Key: key, Expiration: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			limiter := authn.NewLimiter(authn.LimiterOptions{})
			ts, err := tokenserver.New(tokenserver.Config{Service: "registry", Issuer: issuer, Authn: tc.authn, Authz: failingAuthz{},
				Limiter: limiter, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(ts)
			t.Cleanup(srv.Close)
			// More attempts than the rate limit allows failures: an outage is
			// not the client's failure.
			for range 12 {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/auth?service=registry&scope=repository:a:pull", nil)
				req.SetBasicAuth("alice", "alice-password")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("status %d, want 503: %s", res.StatusCode, body)
				}
				if bytes.Contains(body, []byte("token\"")) || !bytes.Contains(body, []byte("unavailable")) {
					t.Errorf("body: %s", body)
				}
				for _, secret := range []string{"internal-detail", "hooks.internal", "alice-password"} {
					if bytes.Contains(body, []byte(secret)) {
						t.Errorf("the response shows %q: %s", secret, body)
					}
				}
			}
			if out := logs.String(); !strings.Contains(out, tc.logWants) || strings.Contains(out, "alice-password") {
				t.Errorf("log:\n%s", out)
			}
		})
	}
}
