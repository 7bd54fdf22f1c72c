package tokenserver_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"wharf/internal/auth/authn"
	"wharf/internal/auth/tokenserver"
)

// TestCount checks what Config.Count is told: one outcome per request,
// the one that ended it. Not parallel: its password checks would take the
// process-wide slots TestConcurrentLogins counts on.
func TestCount(t *testing.T) {
	var mu sync.Mutex
	var got []string
	lim := authn.NewLimiter(authn.LimiterOptions{
		PerAccount: authn.Rate{Burst: 1, Every: time.Hour},
		PerAddress: authn.Rate{Burst: 100, Every: time.Hour},
	})
	f := newFixtureWith(t, func(c *tokenserver.Config) {
		c.Limiter = lim
		c.Count = func(o string) {
			mu.Lock()
			got = append(got, o)
			mu.Unlock()
		}
	})
	for _, tc := range []struct {
		name, user, pass, scope, service string
		status                           int
		want                             string
	}{
		{"all granted", "test", "test-pw", "repository:x:pull", "registry", http.StatusOK, tokenserver.OutcomeIssued},
		{"push asked, pull granted", "test", "test-pw", "repository:x:pull,push", "registry", http.StatusOK, tokenserver.OutcomeScopeDenied},
		{"another service", "test", "test-pw", "", "elsewhere", http.StatusBadRequest, tokenserver.OutcomeInvalid},
		{"wrong password", "admin", "wrong", "", "registry", http.StatusUnauthorized, tokenserver.OutcomeLoginFailed},
		{"then limited", "admin", "admin-pw", "", "registry", http.StatusTooManyRequests, tokenserver.OutcomeRateLimited},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		query := q("service", tc.service)
		if tc.scope != "" {
			query.Set("scope", tc.scope)
		}
		if a := f.get(t, tc.user, tc.pass, query); a.status != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.name, a.status, tc.status)
		}
		mu.Lock()
		if !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s: counted %q; want [%s]", tc.name, got, tc.want)
		}
		mu.Unlock()
	}
}
