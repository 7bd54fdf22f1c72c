package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// doWithin is do with a client that gives up after limit: a request the
// server holds longer than that is an error, not an answer.
func doWithin(t *testing.T, limit time.Duration, method, rawURL string, body io.Reader) (response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return response{req: method + " " + rawURL, Status: resp.StatusCode, Header: resp.Header, Body: data}, err
}

// TestS3Slow puts a proxy in front of the S3 server that holds requests
// back without refusing them (a congested server, not a down one), with
// storage.s3.timeout at 1s: a pull and a push that need S3 are answered 503
// UNAVAILABLE with Retry-After long before the stall ends, /readyz turns
// false, requests that do not need S3 are answered meanwhile, and once S3
// answers again the same pull and push succeed. With the default timeout
// (60s) the requests would still be held when the client gives up.
func TestS3Slow(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	slow := testserver.StartS3Slow(t, g.Endpoint)
	w := startWharf(t, "--config", s3Config(t, g, slow.URL,
		"    timeout: 1s\n    connecttimeout: 1s\n  redirect:\n    disable: true\n"))

	content := []byte("pushed before S3 slowed down")
	dgst := digest.SHA256.FromBytes(content)
	blobURL := w.URL() + "/v2/e2e/slow/blobs/" + dgst.String()
	if r := do(t, http.MethodPost, w.URL()+"/v2/e2e/slow/blobs/uploads/?digest="+dgst.String(), bytes.NewReader(content)); r.Status != http.StatusCreated {
		t.Fatalf("push: %v", r)
	}
	later := []byte("pushed while S3 is slow")
	laterDigest := digest.SHA256.FromBytes(later)
	pushLater := w.URL() + "/v2/e2e/slow/blobs/uploads/?digest=" + laterDigest.String()

	slow.Stalled.Store(true)
	// Two attempts of 1s each and the backoff between them: well under
	// the 30s this client waits, and the stall lasts a minute.
	const patience = 30 * time.Second
	for _, req := range []struct {
		method, url string
		body        []byte
	}{{http.MethodGet, blobURL, nil}, {http.MethodPost, pushLater, later}} {
		start := time.Now()
		r, err := doWithin(t, patience, req.method, req.url, bytes.NewReader(req.body))
		if err != nil {
			t.Fatalf("%s %s while S3 stalls: no answer (%v): the request waited on S3 instead of timing out", req.method, req.url, err)
		}
		t.Logf("%s while S3 stalls: %d after %v", req.method, r.Status, time.Since(start).Round(time.Millisecond))
		if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), `"UNAVAILABLE"`) || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s while S3 stalls: %d %s (Retry-After %q), want 503 UNAVAILABLE with Retry-After",
				r.req, r.Status, r.Body, r.Header.Get("Retry-After"))
		}
		if strings.Contains(string(r.Body), slow.URL) || strings.Contains(string(r.Body), g.SecretKey) {
			t.Errorf("%s: the answer names the store: %s", r.req, r.Body)
		}
	}
	if slow.Held.Load() == 0 {
		t.Fatal("no request reached the stalled proxy")
	}
	// The server keeps serving what does not need S3.
	if r, err := doWithin(t, patience, http.MethodGet, w.URL()+"/v2/", nil); err != nil || r.Status != http.StatusOK {
		t.Errorf("GET /v2/ while S3 stalls: %v %v, want 200", r, err)
	}
	time.Sleep(1100 * time.Millisecond) // /readyz reuses an answer for a second
	if r, err := doWithin(t, patience, http.MethodGet, w.URL()+"/readyz", nil); err != nil || r.Status != http.StatusServiceUnavailable ||
		!strings.Contains(string(r.Body), "blob storage unavailable") {
		t.Errorf("readyz while S3 stalls: %v %v, want 503 naming blob storage", r, err)
	}
	if !strings.Contains(w.Log(), "storage.s3.timeout") {
		t.Error("the log does not name storage.s3.timeout as what gave up")
	}
	// Nothing half-visible: the push that failed left no blob behind.
	if r := do(t, http.MethodHead, w.URL()+"/v2/e2e/slow/blobs/"+laterDigest.String(), nil); r.Status != http.StatusNotFound {
		t.Errorf("HEAD of the blob pushed during the stall: %d, want 404", r.Status)
	}

	slow.Stalled.Store(false)
	time.Sleep(1100 * time.Millisecond)
	if r := do(t, http.MethodGet, w.URL()+"/readyz", nil); r.Status != http.StatusOK {
		t.Errorf("readyz after the stall: %v", r)
	}
	if r := do(t, http.MethodGet, blobURL, nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, content) {
		t.Errorf("pull after the stall: %v", r)
	}
	if r := do(t, http.MethodPost, pushLater, bytes.NewReader(later)); r.Status != http.StatusCreated {
		t.Errorf("push after the stall: %v", r)
	}
}
