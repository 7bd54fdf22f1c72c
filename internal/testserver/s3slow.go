package testserver

import (
	"context"
	"io"
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
// the client gives up) before it is passed on; while StallBodies is set,
// answers send their headers and their first bytes, then pause the same
// way. Its requests are answered in the end, as a congested server's are,
// so the client must give up by itself.
type S3Slow struct {
	// URL is the proxy's endpoint, to give the client instead of the
	// server's.
	URL string
	// Stalled holds requests back.
	Stalled atomic.Bool
	// StallBodies holds answers back after their first bytes.
	StallBodies atomic.Bool
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
	// Every byte the server sends goes out at once: the first bytes of a
	// stalled body reach the client.
	proxy.FlushInterval = -1
	proxy.ModifyResponse = func(resp *http.Response) error {
		if s.StallBodies.Load() && resp.Request.Method == http.MethodGet {
			resp.Body = &stallingBody{ReadCloser: resp.Body, s: s, ctx: resp.Request.Context()}
		}
		return nil
	}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Stalled.Load() && !s.hold(r.Context(), &s.Stalled) {
			return
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

// hold waits while flag is set, up to a minute: false when the client hung
// up or the test ended meanwhile.
func (s *S3Slow) hold(ctx context.Context, flag *atomic.Bool) bool {
	s.Held.Add(1)
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for flag.Load() {
		select {
		case <-ctx.Done():
			return false
		case <-s.done:
			return false
		case <-deadline.C:
			return true
		case <-tick.C:
		}
	}
	return true
}

// stallingBody passes its first bytes on, then holds the rest while
// StallBodies is set.
type stallingBody struct {
	io.ReadCloser
	s    *S3Slow
	ctx  context.Context //nolint:containedctx // the proxied request's, which Read has no other way to see
	sent bool
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return b.ReadCloser.Read(p[:min(len(p), 16)])
	}
	if b.s.StallBodies.Load() && !b.s.hold(b.ctx, &b.s.StallBodies) {
		return 0, io.ErrUnexpectedEOF
	}
	return b.ReadCloser.Read(p)
}
