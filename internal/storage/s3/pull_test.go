package s3_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage/s3"
	"wharf/internal/storage/storagetest"
	"wharf/internal/testserver"
)

// serveBlob answers every GET with blob dgst through Open and
// http.ServeContent, as the registry proxies a pull.
func serveBlob(t testing.TB, d *s3.Driver, dgst digest.Digest) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := d.Open(r.Context(), dgst)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer b.Close()
		http.ServeContent(w, r, "", time.Time{}, b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// pull GETs url and reads the body in 1 MiB reads, as docker's and the
// benchmarks' clients do; it returns the bytes read.
func pull(c *http.Client, url string, buf []byte) (int64, error) {
	res, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET: %s", res.Status)
	}
	var n int64
	for {
		m, err := res.Body.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// BenchmarkProxiedPull is a pull with redirects off: a 64 MiB blob read
// from versitygw by the driver and sent on by net/http to a client on
// loopback. With -cpuprofile it shows where the proxy's CPU goes.
//
//	go test -run '^$' -bench ProxiedPull -benchtime 20x -cpuprofile /tmp/pull.prof ./internal/storage/s3/
func BenchmarkProxiedPull(b *testing.B) {
	g := testserver.StartVersityGW(b, bucket)
	opts := options(g)
	opts.PartSize = s3.DefaultPartSize
	d := newDriver(b, opts)
	content := random(64 << 20)
	dgst := digest.SHA256.FromBytes(content)
	if _, err := pushOne(b, d, content, dgst); err != nil {
		b.Fatal(err)
	}
	srv := serveBlob(b, d, dgst)
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(content)))
	b.ResetTimer()
	for b.Loop() {
		n, err := pull(c, srv.URL, buf)
		if err != nil || n != int64(len(content)) {
			b.Fatalf("pulled %d bytes of %d: %v", n, len(content), err)
		}
	}
}

// readSizes is an HTTP transport that notes the size of every buffer the
// driver reads a ranged GET's body into.
type readSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (rs *readSizes) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && req.Method == http.MethodGet && req.Header.Get("Range") != "" {
		res.Body = &sizedBody{ReadCloser: res.Body, rs: rs}
	}
	return res, err
}

type sizedBody struct {
	io.ReadCloser
	rs *readSizes
}

func (b *sizedBody) Read(p []byte) (int, error) {
	b.rs.mu.Lock()
	b.rs.sizes = append(b.rs.sizes, len(p))
	b.rs.mu.Unlock()
	return b.ReadCloser.Read(p)
}

// TestProxiedPullReadsLarge: a blob served through Open and
// http.ServeContent, which copies in 32 KiB reads, is read from S3's
// socket in reads of 4 MiB: every read of the GET's body gets a 4 MiB
// buffer, so the proxy makes a few large system calls on the S3 side
// instead of one per 32 KiB. The bytes still come back whole, from the
// start and from a Range.
func TestProxiedPullReadsLarge(t *testing.T) {
	// A CA bundle of the environment needs the client the driver builds.
	t.Setenv("AWS_CA_BUNDLE", "")
	g := server(t)
	rs := &readSizes{}
	opts := options(g)
	opts.HTTPClient = &http.Client{Transport: rs}
	d := newDriver(t, opts)
	content := random(3<<20 + 12345)
	dgst := digest.SHA256.FromBytes(content)
	if _, err := pushOne(t, d, content, dgst); err != nil {
		t.Fatal(err)
	}
	srv := serveBlob(t, d, dgst)
	if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes back, content differs", len(got))
	}
	n, err := pull(http.DefaultClient, srv.URL, make([]byte, 1<<20))
	if err != nil || n != int64(len(content)) {
		t.Fatalf("pulled %d bytes of %d: %v", n, len(content), err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Range", "bytes=1000000-")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusPartialContent || !bytes.Equal(body, content[1000000:]) {
		t.Fatalf("Range pull: %s, %d bytes, %v; want 206 and the bytes from 1000000", res.Status, len(body), err)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.sizes) == 0 {
		t.Fatal("no read of a GET's body was seen")
	}
	for i, n := range rs.sizes {
		if n < 4<<20 {
			t.Fatalf("read %d of %d of the S3 bodies got a buffer of %d bytes, want 4 MiB (sizes %v)", i+1, len(rs.sizes), n, rs.sizes[:min(len(rs.sizes), 20)])
		}
	}
}
