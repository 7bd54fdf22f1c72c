package e2e

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/e2e/harness"
	"wharf/internal/testserver"
)

// TestS3RedirectEndpoint gives wharf two addresses of one S3 server: the
// one it talks to, and storage.s3.redirectendpoint, a second address (a
// proxy on another port that passes Host through, as a public load
// balancer in front of an internal S3 does). A pull is redirected to the
// public address, a client following it gets the blob's bytes, whole and by
// Range, and the blob's size is counted in
// wharf_http_response_redirected_bytes_total, since the 307 itself carries
// no body.
func TestS3RedirectEndpoint(t *testing.T) {
	harness.SkipIfShort(t)
	g := testserver.StartVersityGW(t, s3Bucket)
	public := testserver.StartS3Outage(t, g.Endpoint) // never down: a plain proxy
	cfg := s3Config(t, g, g.Endpoint, "    redirectendpoint: "+public.URL+"\n")
	maddr := harness.FreeLoopbackAddr(t)
	if err := appendFile(cfg, "metrics:\n  enabled: true\n  addr: "+maddr+"\n"); err != nil {
		t.Fatal(err)
	}
	w := startWharf(t, "--config", cfg)

	content := make([]byte, 1<<20+7)
	rand.Read(content)
	dgst := digest.SHA256.FromBytes(content)
	if r := do(t, http.MethodPost, w.URL()+"/v2/e2e/public/blobs/uploads/?digest="+dgst.String(), bytes.NewReader(content)); r.Status != http.StatusCreated {
		t.Fatalf("push: %v", r)
	}
	blobURL := w.URL() + "/v2/e2e/public/blobs/" + dgst.String()
	noFollow := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(blobURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("GET blob: %d Location %q (%v), want 307", resp.StatusCode, resp.Header.Get("Location"), err)
	}
	pub, _ := url.Parse(public.URL)
	if loc.Host != pub.Host || loc.Scheme != pub.Scheme {
		t.Errorf("Location %s://%s, want the public endpoint %s", loc.Scheme, loc.Host, public.URL)
	}
	before := public.Requests("User-Agent")
	for _, rng := range []struct {
		header     string
		start, end int
	}{{"", 0, len(content)}, {"bytes=1000-1999", 1000, 2000}} {
		got := do(t, http.MethodGet, blobURL, nil, "Range", rng.header)
		want := http.StatusOK
		if rng.header != "" {
			want = http.StatusPartialContent
		}
		if got.Status != want || !bytes.Equal(got.Body, content[rng.start:rng.end]) {
			t.Errorf("GET %q through the public endpoint: %d with %d bytes %s, want %d with bytes %d-%d",
				rng.header, got.Status, len(got.Body), got.Body[:min(len(got.Body), 300)], want, rng.start, rng.end)
		}
	}
	if n := public.Requests("User-Agent") - before; n != 2 {
		t.Errorf("%d requests reached the public endpoint, want the 2 redirected GETs", n)
	}
	// Three redirected pulls of the whole blob's size: the client's
	// Range is S3's business, wharf counts what it pointed to.
	s := scrapeMetrics(t, "http://"+maddr+"/metrics", "")
	if got := s.value("wharf_http_response_redirected_bytes_total", "family", "blob"); got != float64(3*len(content)) {
		t.Errorf("wharf_http_response_redirected_bytes_total = %v, want %d (three redirected pulls)", got, 3*len(content))
	}
	if got := s.value("wharf_http_response_body_bytes_total", "family", "blob"); got >= float64(len(content)) {
		t.Errorf("wharf_http_response_body_bytes_total{family=blob} = %v: the redirected bytes went through wharf", got)
	}
}
