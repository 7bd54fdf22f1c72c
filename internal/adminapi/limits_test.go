package adminapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wharf/internal/auth/authn/authntest"
)

// TestBasicConcurrentGuesses: Basic logins reserve their limiter token
// before the password is checked, as the token server's do: of 25 wrong
// passwords for one account sent at once, at most the burst (10) are
// checked (answered 401); the rest get 429 with Retry-After.
func TestBasicConcurrentGuesses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var checked, limited atomic.Int64
	var wg sync.WaitGroup
	for i := range 25 {
		wg.Go(func() {
			res := e.do(basic("admin", fmt.Sprint("guess-", i)), "GET", "/api/v1/users", nil)
			switch res.status {
			case http.StatusUnauthorized:
				checked.Add(1)
			case http.StatusTooManyRequests:
				if code, _, _ := res.errorOf(t); code != "too_many_requests" || res.header.Get("Retry-After") == "" {
					t.Errorf("429: %s %v", code, res.header)
				}
				limited.Add(1)
			default:
				t.Errorf("guess %d: %d %s", i, res.status, res)
			}
		})
	}
	wg.Wait()
	t.Logf("25 concurrent Basic guesses: %d checked, %d refused", checked.Load(), limited.Load())
	if checked.Load() > 10 || checked.Load()+limited.Load() != 25 {
		t.Errorf("%d checked, %d refused; want at most 10 checked", checked.Load(), limited.Load())
	}
}

// TestBasicFullPasswordGate: a Basic login meeting a full password gate is
// 503 with Retry-After in the admin API's error shape, and not a failed
// login. Not parallel: it replaces the process's password gate.
func TestBasicFullPasswordGate(t *testing.T) {
	e := newEnv(t)
	release := authntest.FillPasswordGate(t, 10*time.Millisecond, nil)
	for range 12 { // more than the account's burst
		res := e.do(basic("admin", "wrong"), "GET", "/api/v1/users", nil)
		code, msg, _ := res.errorOf(t)
		if res.status != http.StatusServiceUnavailable || code != "unavailable" || res.header.Get("Retry-After") != "1" || !strings.Contains(msg, "busy") {
			t.Fatalf("full gate: %d %s %v", res.status, res, res.header)
		}
	}
	if strings.Contains(e.log.String(), "backend failed") {
		t.Errorf("a full gate logged as a backend failure:\n%s", e.log.String())
	}
	release()
	e.must(http.StatusOK, basic("admin", adminPassword), "GET", "/api/v1/users", nil, nil)
}
