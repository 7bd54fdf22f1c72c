package ociapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/auth"
	"wharf/internal/ociapi"
)

// rawRequest is an HTTP/1.1 request written by hand on its own
// connection, so that a test decides when (and whether) its body's bytes
// are sent.
type rawRequest struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

// startRaw sends the request line and headers of method target (a URL of
// the test server) and none of the body.
func startRaw(t *testing.T, method, target string, header ...string) *rawRequest {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Bounds the test if the server never answers; no outcome depends on it.
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, u.RequestURI(), u.Host)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	return &rawRequest{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// send writes body bytes (already framed, for a chunked body).
func (rr *rawRequest) send(b []byte) {
	rr.t.Helper()
	if _, err := rr.conn.Write(b); err != nil {
		rr.t.Fatalf("sending the body: %v", err)
	}
}

// response reads the next response, an interim 100 Continue included.
func (rr *rawRequest) response() response {
	rr.t.Helper()
	res, err := http.ReadResponse(rr.br, nil)
	if err != nil {
		rr.t.Fatalf("no response: %v", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		rr.t.Fatalf("reading the response: %v", err)
	}
	return response{res.StatusCode, res.Header, b}
}

// chunked frames b as one chunk of a chunked body.
func chunked(b []byte) []byte {
	out := fmt.Appendf(nil, "%x\r\n", len(b))
	out = append(out, b...)
	return append(out, "\r\n"...)
}

func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// TestStalledUploadResumes: an upload request whose body stops arriving
// is ended by the idle timeout with 408; the bytes it sent stay in the
// session, whose status shows them, and the rest completes the blob.
func TestStalledUploadResumes(t *testing.T) {
	t.Parallel()
	base := newServerWith(t, nil, ociapi.Options{UploadIdleTimeout: time.Second, MaxUploads: 8}).URL
	tests := []struct {
		name        string
		total, sent int
		method      string // PATCH, or PUT with the digest
		stream      bool   // chunked transfer encoding, no Content-Length
	}{
		{name: "small PATCH", total: 100_000, sent: 40_000, method: "PATCH"},
		{name: "large PATCH", total: 8 << 20, sent: 5<<19 + 7, method: "PATCH"},
		{name: "streamed PATCH", total: 4 << 20, sent: 3 << 19, method: "PATCH", stream: true},
		{name: "final PUT", total: 3 << 20, sent: 1<<20 + 3, method: "PUT"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			content := randomBytes(tc.total, byte(i))
			d := digest.FromBytes(content)
			repo := fmt.Sprintf("stall/%d", i)
			r := do(t, "POST", base+"/v2/"+repo+"/blobs/uploads/", nil)
			expect(t, r, http.StatusAccepted, "")
			loc := r.header.Get("Location")

			target, header := base+loc, []string{"Content-Length", fmt.Sprint(tc.total)}
			if tc.method == "PUT" {
				target += "?digest=" + d.String()
			}
			body := content[:tc.sent]
			if tc.stream {
				header = []string{"Transfer-Encoding", "chunked"}
				body = chunked(body)
			}
			rr := startRaw(t, tc.method, target, header...)
			rr.send(body)
			r = rr.response()
			wantRange := fmt.Sprintf("0-%d", tc.sent-1)
			expect(t, r, http.StatusRequestTimeout, "BLOB_UPLOAD_INVALID")
			if r.header.Get("Range") != wantRange || r.header.Get("Location") != loc {
				t.Fatalf("stalled request answered Range %q Location %q; want %q %q (%s)",
					r.header.Get("Range"), r.header.Get("Location"), wantRange, loc, r.body)
			}

			r = do(t, "GET", base+loc, nil)
			expect(t, r, http.StatusNoContent, "")
			if r.header.Get("Range") != wantRange {
				t.Fatalf("upload status after the stall: Range %q; want %q", r.header.Get("Range"), wantRange)
			}
			rest := fmt.Sprintf("%d-%d", tc.sent, tc.total-1)
			expect(t, do(t, "PATCH", base+loc, content[tc.sent:], "Content-Range", rest), http.StatusAccepted, "")
			expect(t, do(t, "PUT", base+loc+"?digest="+d.String(), nil), http.StatusCreated, "")
			if got := do(t, "GET", base+"/v2/"+repo+"/blobs/"+d.String(), nil); !bytes.Equal(got.body, content) {
				t.Fatalf("the resumed blob has %d bytes, not the %d pushed", len(got.body), len(content))
			}
		})
	}
	t.Run("manifest", func(t *testing.T) {
		t.Parallel()
		rr := startRaw(t, "PUT", base+"/v2/stall/m/manifests/v1", "Content-Length", "500", "Content-Type", ociManifest)
		rr.send([]byte(`{"schemaVersion":2,`))
		expect(t, rr.response(), http.StatusRequestTimeout, "MANIFEST_INVALID")
	})
}

// TestStalledUploadHTTP2: the idle timeout holds on HTTP/2 too, where a
// read deadline is the stream's, not the connection's.
func TestStalledUploadHTTP2(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(newHandler(t, nil, ociapi.Options{UploadIdleTimeout: time.Second, MaxUploads: 4}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Timeout = 30 * time.Second // bounds the test if the server never answers
	call := func(method, target string, body io.Reader, header ...string) response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, target, body)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.ProtoMajor != 2 {
			t.Fatalf("%s %s went over %s; want HTTP/2", method, target, res.Proto)
		}
		b, _ := io.ReadAll(res.Body)
		return response{res.StatusCode, res.Header, b}
	}
	content := randomBytes(3<<20, 9)
	const sent = 1<<20 + 5
	r := call("POST", srv.URL+"/v2/h2/blobs/uploads/", nil)
	expect(t, r, http.StatusAccepted, "")
	loc := r.header.Get("Location")

	// The body sends its first bytes and then nothing, without ending.
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	go func() { _, _ = pw.Write(content[:sent]) }()
	r = call("PATCH", srv.URL+loc, pr)
	expect(t, r, http.StatusRequestTimeout, "BLOB_UPLOAD_INVALID")
	if want := fmt.Sprintf("0-%d", sent-1); r.header.Get("Range") != want {
		t.Fatalf("stalled HTTP/2 upload answered Range %q; want %q", r.header.Get("Range"), want)
	}
	expect(t, call("PATCH", srv.URL+loc, bytes.NewReader(content[sent:]), "Content-Range", fmt.Sprintf("%d-%d", sent, len(content)-1)), http.StatusAccepted, "")
	d := digest.FromBytes(content)
	expect(t, call("PUT", srv.URL+loc+"?digest="+d.String(), nil), http.StatusCreated, "")
}

// anyUser authorizes every Basic user, and names them.
type anyUser struct{}

func (anyUser) Authorize(r *http.Request, _ []auth.Access) (string, error) {
	user, _, _ := r.BasicAuth()
	return user, nil
}

// TestUploadCaps: past the per-client cap an upload is refused with 429
// TOOMANYREQUESTS and Retry-After, while another account still gets a
// slot; past the global cap every client is refused; a slot is free again
// once its upload ends, and the server serves throughout.
func TestUploadCaps(t *testing.T) {
	t.Parallel()
	basic := func(user string) []string {
		return []string{"Authorization", "Basic " + basicAuth(user)}
	}
	session := func(t *testing.T, base, repo string, header []string) string {
		t.Helper()
		r := do(t, "POST", base+"/v2/"+repo+"/blobs/uploads/", nil, header...)
		expect(t, r, http.StatusAccepted, "")
		return base + r.header.Get("Location")
	}
	// hold starts an upload that takes its slot (the handler asks for the
	// body: 100 Continue) and sends nothing yet.
	hold := func(t *testing.T, loc string, header []string) *rawRequest {
		t.Helper()
		rr := startRaw(t, "PATCH", loc, append([]string{"Content-Length", "1000", "Expect", "100-continue"}, header...)...)
		if r := rr.response(); r.status != http.StatusContinue {
			t.Fatalf("a held upload was answered %d %q (%s); want 100 Continue", r.status, r.code(), r.body)
		}
		return rr
	}
	refused := func(t *testing.T, r response) {
		t.Helper()
		expect(t, r, http.StatusTooManyRequests, "TOOMANYREQUESTS")
		if r.header.Get("Retry-After") != "2" {
			t.Errorf("429 without Retry-After: %v", r.header)
		}
	}

	t.Run("accounts", func(t *testing.T) {
		t.Parallel()
		base := newServerWith(t, anyUser{}, ociapi.Options{MaxUploads: 2, MaxUploadsPerClient: 1}).URL
		alice := hold(t, session(t, base, "a", basic("alice")), basic("alice"))
		refused(t, do(t, "PATCH", session(t, base, "a", basic("alice")), []byte("x"), basic("alice")...))
		// Alice's cap is hers: bob gets a slot.
		hold(t, session(t, base, "b", basic("bob")), basic("bob"))
		// Both slots are taken: carol is refused, and the server serves.
		carol := session(t, base, "c", basic("carol"))
		refused(t, do(t, "PATCH", carol, []byte("x"), basic("carol")...))
		expect(t, do(t, "GET", base+"/v2/", nil), http.StatusOK, "")

		alice.send(bytes.Repeat([]byte("a"), 1000))
		expect(t, alice.response(), http.StatusAccepted, "")
		// The slot is given back once the handler returns, just after the
		// answer: retry as Retry-After says.
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := do(t, "PATCH", carol, []byte("x"), basic("carol")...)
			if r.status != http.StatusTooManyRequests {
				expect(t, r, http.StatusAccepted, "")
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the slot of a finished upload was not given back")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("anonymous clients by address", func(t *testing.T) {
		t.Parallel()
		base := newServerWith(t, nil, ociapi.Options{MaxUploadsPerClient: 1}).URL
		hold(t, session(t, base, "x", nil), nil)
		refused(t, do(t, "PATCH", session(t, base, "x", nil), []byte("x")))
		// Requests without a body need no slot.
		expect(t, do(t, "POST", base+"/v2/x/blobs/uploads/", nil), http.StatusAccepted, "")
	})
}

func basicAuth(user string) string {
	r, _ := http.NewRequest("GET", "http://x/", nil)
	r.SetBasicAuth(user, "secret")
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}
