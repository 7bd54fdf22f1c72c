package testserver

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// S3Slow is a proxy in front of an S3 server that is slow rather than
// down: while Stalled is set, every request waits (up to a minute, or until
// the client gives up) before it is passed on. Its requests are answered
// in the end, as a congested server's are, so the client must give up by
// itself.
type S3Slow struct {
	// URL is the proxy's endpoint, to give the client instead of the
	// server's.
	URL string
	// Stalled holds requests back.
	Stalled atomic.Bool
	// Held counts the requests held back so far.
	Held atomic.Int64
	srv  *httptest.Server
	done chan struct{}
}

// StartS3Slow starts the proxy in front of endpoint on a loopback port; it
// is closed when the test ends.
func StartS3Slow(t testing.TB, endpoint string) *S3Slow {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	s := &S3Slow{done: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(target)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Stalled.Load() {
			s.Held.Add(1)
			// Wait for the stall to end, the client to hang up, or the
			// test to end: never answer early.
			deadline := time.NewTimer(time.Minute)
			defer deadline.Stop()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
		wait:
			for s.Stalled.Load() {
				select {
				case <-r.Context().Done():
					return
				case <-s.done:
					return
				case <-deadline.C:
					break wait
				case <-tick.C:
				}
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		close(s.done)
		s.srv.Close()
	})
	return s
}
