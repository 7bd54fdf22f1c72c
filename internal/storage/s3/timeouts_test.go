package s3_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/s3"
	"wharf/internal/storage/storagetest"
	"wharf/internal/testserver"
)

// within runs fn and fails the test if it has not returned after limit:
// the driver waited on a silent server instead of giving up.
func within[T any](t *testing.T, limit time.Duration, what string, fn func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(limit):
		t.Fatalf("%s: no answer after %v: the driver waits on a silent S3", what, limit)
	}
	panic("unreachable")
}

// TestSilentServer puts a proxy in front of the S3 server that holds
// requests, then bodies, back, with Timeout at 500ms: a request S3 does not
// answer and a body S3 stops sending each fail, after the attempts, with
// storage.ErrUnavailable naming storage.s3.timeout, instead of waiting;
// once S3 answers again the same reads succeed.
func TestSilentServer(t *testing.T) {
	g := server(t)
	slow := testserver.StartS3Slow(t, g.Endpoint)
	opts := options(g)
	opts.Endpoint, opts.Timeout, opts.ConnectTimeout = slow.URL, 500*time.Millisecond, time.Second
	d := newDriver(t, opts)
	content := random(256 << 10)
	dgst := digest.SHA256.FromBytes(content)
	w, err := d.Upload(t.Context(), storagetest.NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), dgst); err != nil {
		t.Fatal(err)
	}
	read := func() ([]byte, error) {
		b, err := d.Open(t.Context(), dgst)
		if err != nil {
			return nil, err
		}
		defer b.Close()
		return io.ReadAll(b)
	}
	// Two attempts of half a second and the backoff between them: far
	// below the limit, which the default of 60s would pass.
	const limit = 20 * time.Second
	for _, tc := range []struct {
		name string
		flag func(bool)
	}{
		{"request held", func(on bool) { slow.Stalled.Store(on) }},
		{"body held after its first bytes", func(on bool) { slow.StallBodies.Store(on) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.flag(true)
			start := time.Now()
			_, err := within(t, limit, "read", read)
			t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "storage.s3.timeout") {
				t.Errorf("read from a silent S3: %v; want ErrUnavailable naming storage.s3.timeout", err)
			}
			tc.flag(false)
			if got, err := within(t, limit, "read after the stall", read); err != nil || !bytes.Equal(got, content) {
				t.Errorf("read after the stall: %d bytes, %v", len(got), err)
			}
		})
	}
	if slow.Held.Load() < 2 {
		t.Errorf("the proxy held %d requests or bodies, want both kinds", slow.Held.Load())
	}
	if s3.DefaultTimeout != time.Minute || s3.DefaultConnectTimeout != 10*time.Second {
		t.Errorf("defaults %v and %v, documented as 60s and 10s", s3.DefaultTimeout, s3.DefaultConnectTimeout)
	}
}
