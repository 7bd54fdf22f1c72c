package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"wharf/e2e/harness"
)

// TestProxyRangeWhileDownloading: while the mirror's one upstream download
// of a blob is held after its first 3 MiB, Range requests for bytes it has
// are answered 206 from the spool at once, a range past the end 416, and a
// range past what arrived (the blob's last byte included) once the bytes
// come; every range's bytes are the blob's, the client reading the whole
// blob gets all of it, and the upstream is asked for the blob once.
func TestProxyRangeWhileDownloading(t *testing.T) {
	harness.SkipIfShort(t)
	_, counter, img, mirror := proxySetup(t, "ranged", 8<<20, 1, "5m", 0, 0)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	dgst, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	size := len(blob)
	counter.pauseAfter.Store(3 << 20)
	released := false
	defer func() {
		if !released {
			close(counter.release)
		}
	}()

	tok := fetchToken(t, mirror, "puller", "puller-pw-3", "repository:up/team/ranged:pull")
	client := &http.Client{Timeout: 20 * time.Second}
	get := func(rangeHeader string) (*http.Response, []byte, error) {
		req, err := http.NewRequest(http.MethodGet, mirror.URL()+"/v2/up/team/ranged/blobs/"+dgst.String(), nil)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if rangeHeader != "" {
			req.Header.Set("Range", rangeHeader)
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res, b, err
	}
	type answer struct {
		res  *http.Response
		body []byte
		err  error
	}
	whole := make(chan answer, 1)
	go func() {
		res, b, err := get("")
		whole <- answer{res, b, err}
	}()
	// The download has begun once the upstream was asked for the blob.
	for i := 0; counter.count("GET blobs") == 0; i++ {
		if i == 200 {
			t.Fatal("the mirror did not ask the upstream for the blob")
		}
		time.Sleep(50 * time.Millisecond)
	}

	wantRange := func(rangeHeader string, first, last int, res *http.Response, body []byte, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("Range %s: %v", rangeHeader, err)
		}
		want := fmt.Sprintf("bytes %d-%d/%d", first, last, size)
		if res.StatusCode != http.StatusPartialContent || res.Header.Get("Content-Range") != want || !bytes.Equal(body, blob[first:last+1]) {
			t.Errorf("Range %s: %d, Content-Range %q, %d bytes; want 206, %q and the blob's bytes", rangeHeader, res.StatusCode, res.Header.Get("Content-Range"), len(body), want)
		}
	}
	// Bytes that arrived: answered while the upstream holds the rest.
	for _, r := range [][2]int{{0, 99}, {1 << 20, 2<<20 - 1}} {
		h := fmt.Sprintf("bytes=%d-%d", r[0], r[1])
		res, body, err := get(h)
		wantRange(h, r[0], r[1], res, body, err)
	}
	if res, _, err := get(fmt.Sprintf("bytes=%d-", size)); err != nil || res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("Range past the end while downloading: %v %v; want 416", res, err)
	}
	// Bytes not there yet, the last one included: answered once they are.
	tailFrom := size - 100000
	tail := make(chan answer, 1)
	go func() {
		res, b, err := get(fmt.Sprintf("bytes=%d-", tailFrom))
		tail <- answer{res, b, err}
	}()
	select {
	case a := <-whole:
		t.Fatalf("the whole blob was answered while the upstream held its bytes: %v", a.err)
	default:
	}
	released = true
	close(counter.release)
	a := <-tail
	wantRange("tail", tailFrom, size-1, a.res, a.body, a.err)
	a = <-whole
	if a.err != nil || a.res.StatusCode != http.StatusOK || !bytes.Equal(a.body, blob) {
		t.Fatalf("the whole blob: %v, %d bytes", a.err, len(a.body))
	}
	if n := counter.count("GET blobs"); n != 1 {
		t.Errorf("the upstream was asked for the blob %d times; want 1", n)
	}
	if !strings.Contains(mirror.Log(), "blob fetched from upstream") {
		t.Error("the download did not complete")
	}
}
