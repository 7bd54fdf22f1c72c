package s3_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/s3"
	"wharf/internal/storage/storagetest"
	"wharf/internal/testserver"
)

// s3Call is one request that reached the S3 server.
type s3Call struct {
	method, key string
	query       []string // the query's parameter names, sorted
	contentSHA  string   // x-amz-content-sha256
	copySource  bool
}

// recorder is a proxy in front of the S3 server that notes every request,
// so a test can say which S3 operations a driver call made.
type recorder struct {
	URL   string
	mu    sync.Mutex
	calls []s3Call
}

func startRecorder(t *testing.T, g *testserver.VersityGW) *recorder {
	t.Helper()
	target, err := url.Parse(g.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := s3Call{method: r.Method, key: strings.TrimPrefix(r.URL.Path, "/"+bucket+"/"),
			contentSHA: r.Header.Get("X-Amz-Content-Sha256"), copySource: r.Header.Get("X-Amz-Copy-Source") != ""}
		for k := range r.URL.Query() {
			if k != "x-id" { // the SDK names every operation so
				c.query = append(c.query, k)
			}
		}
		sort.Strings(c.query)
		rec.mu.Lock()
		rec.calls = append(rec.calls, c)
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// take returns the requests noted since the last take.
func (r *recorder) take() []s3Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// writes are the calls that wrote or copied bytes: PUTs and multipart
// operations.
func writes(calls []s3Call) []s3Call {
	var out []s3Call
	for _, c := range calls {
		if c.method == http.MethodPut || c.method == http.MethodPost {
			out = append(out, c)
		}
	}
	return out
}

// pushOne is a monolithic push as the registry makes it: an upload
// created by one request (POST), then one request (PUT ?digest=) that
// announces its length, writes the whole body in pieces and commits.
func pushOne(t testing.TB, d *s3.Driver, content []byte, dgst digest.Digest) (string, error) {
	t.Helper()
	id := storagetest.NewID()
	w, err := d.Upload(t.Context(), id, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w, err = d.Upload(t.Context(), id, 0); err != nil {
		t.Fatal(err)
	}
	// As the registry does, from the request's Content-Length.
	if e, ok := w.(storage.Expecter); ok {
		e.Expect(int64(len(content)))
	}
	for p := content; len(p) > 0; p = p[min(len(p), 1<<20):] {
		if _, err := w.Write(p[:min(len(p), 1<<20)]); err != nil {
			t.Fatal(err)
		}
	}
	return id, w.Commit(t.Context(), dgst)
}

// TestMonolithicPushIsOnePut: a blob whose whole body arrives in one
// request, larger than a part, is written with one PutObject to its
// digest's key, signed with its digest as the payload hash: no multipart
// upload, no completion, no server-side copy.
func TestMonolithicPushIsOnePut(t *testing.T) {
	g := server(t)
	rec := startRecorder(t, g)
	opts := options(g)
	opts.Endpoint = rec.URL
	d := newDriver(t, opts)
	content := random(3*s3.MinPartSize + 12345) // three parts and a tail, below four
	dgst := digest.SHA256.FromBytes(content)
	if _, err := pushOne(t, d, content, dgst); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	enc := dgst.Encoded()
	blobKey := opts.Prefix + "blobs/sha256/" + enc[:2] + "/" + enc
	var blobPuts int
	for _, c := range writes(rec.take()) {
		switch {
		case len(c.query) > 0 || c.copySource || c.method != http.MethodPut:
			t.Errorf("%s %s ?%v (copy %t): a multipart or copy request in a monolithic push", c.method, c.key, c.query, c.copySource)
		case c.key == blobKey:
			blobPuts++
			if c.contentSHA != enc {
				t.Errorf("the blob's PUT carries x-amz-content-sha256 %q, want the digest %s", c.contentSHA, enc)
			}
		}
	}
	if blobPuts != 1 {
		t.Errorf("%d PUTs of the blob's key, want 1", blobPuts)
	}
	if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes back, content differs", len(got))
	}
	if got := keys(t, g, opts.Prefix); strings.Join(got, ",") != "blobs/sha256/"+enc[:2]+"/"+enc {
		t.Errorf("keys after commit = %v, want only the blob", got)
	}
}

// TestHeldBodyMismatchRefusedByS3: the single PUT is signed with the digest
// the registry verified, and S3 checks it against the bytes it receives:
// bytes that are not the digest's never become the blob.
func TestHeldBodyMismatchRefusedByS3(t *testing.T) {
	d := newDriver(t, options(server(t)))
	content := random(s3.MinPartSize + 1)
	wrong := digest.SHA256.FromBytes(append([]byte("not "), content...))
	if _, err := pushOne(t, d, content, wrong); err == nil {
		t.Fatal("Commit under a digest that is not the bytes' succeeded")
	}
	if _, err := d.Stat(t.Context(), wrong); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat of the refused blob = %v, want ErrNotFound", err)
	}
}

// TestHeldBodyClosedOrOverrun: an upload held whole that ends in Close (a
// PATCH) sends its parts then, and resumes and commits as any other; one
// whose body outgrows what it announced stops holding and sends parts as
// they fill. Either way the blob comes back whole.
func TestHeldBodyClosedOrOverrun(t *testing.T) {
	g := server(t)
	for _, tc := range []struct {
		name     string
		announce int64
		close    bool
	}{
		{name: "closed", announce: 3*s3.MinPartSize + 7, close: true},
		{name: "overrun", announce: s3.MinPartSize + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := startRecorder(t, g)
			opts := options(g)
			opts.Endpoint = rec.URL
			d := newDriver(t, opts)
			content := random(3*s3.MinPartSize + 7)
			id := stage(t, d, nil)
			w, err := d.Upload(t.Context(), id, 0)
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := w.(storage.Expecter); ok {
				e.Expect(tc.announce)
			}
			if _, err := w.Write(content); err != nil {
				t.Fatal(err)
			}
			if tc.close {
				if err := w.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if w, err = newDriver(t, opts).Upload(t.Context(), id, int64(len(content))); err != nil {
					t.Fatalf("resume: %v", err)
				}
			}
			dgst := digest.SHA256.FromBytes(content)
			if err := w.Commit(t.Context(), dgst); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			var parts int
			for _, c := range writes(rec.take()) {
				for _, q := range c.query {
					if q == "partNumber" {
						parts++
					}
				}
			}
			if parts != 4 {
				t.Errorf("%d parts sent, want 4 (three full parts of %d, then the tail at Commit)", parts, s3.MinPartSize)
			}
			if got := storagetest.ReadBlob(t, d, dgst); !bytes.Equal(got, content) {
				t.Fatalf("read %d bytes back, content differs", len(got))
			}
		})
	}
}

// TestPatchOfUnknownLengthIsOnePut: a body of unknown length (no Expect)
// smaller than a part but larger than S3's minimum part, sent in one
// request that ends in Close, then committed by a request without a body
// (docker's PATCH, then PUT ?digest=), never starts a multipart upload: its
// bytes wait in the upload's state, and the commit writes them with one
// PutObject to the digest's key.
func TestPatchOfUnknownLengthIsOnePut(t *testing.T) {
	g := server(t)
	rec := startRecorder(t, g)
	opts := options(g)
	opts.Endpoint = rec.URL
	opts.PartSize = s3.DefaultPartSize
	content := random(s3.MinPartSize + 3<<20)
	id := stage(t, newDriver(t, opts), content)
	w, err := newDriver(t, opts).Upload(t.Context(), id, int64(len(content)))
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	dgst := digest.SHA256.FromBytes(content)
	if err := w.Commit(t.Context(), dgst); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	for _, c := range writes(rec.take()) {
		if len(c.query) > 0 || c.copySource || c.method != http.MethodPut {
			t.Errorf("%s %s ?%v (copy %t): a multipart or copy request for a blob smaller than a part", c.method, c.key, c.query, c.copySource)
		}
	}
	if got := storagetest.ReadBlob(t, newDriver(t, opts), dgst); !bytes.Equal(got, content) {
		t.Fatalf("read %d bytes back, content differs", len(got))
	}
}

// TestHeldBodyGrowsOnce: a body held whole is received into memory
// reserved once for its announced size (after the first part), not into a
// slice that append grows a quarter at a time, which allocated and copied
// about four times the body.
func TestHeldBodyGrowsOnce(t *testing.T) {
	d := newDriver(t, options(server(t)))
	const size = 4 * s3.MinPartSize // the most held with these parts
	w, err := d.Upload(t.Context(), storagetest.NewID(), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Cancel(context.WithoutCancel(t.Context()))
	chunk := random(1 << 20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if e, ok := w.(storage.Expecter); ok {
		e.Expect(size)
	}
	for range size / len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// A part reserved by Expect, then the whole body: 1.25 bodies, and
	// slack for anything else the process allocated meanwhile.
	if got := after.TotalAlloc - before.TotalAlloc; got > 3*size/2 {
		t.Errorf("receiving a held body of %d MiB allocated %d MiB, want at most %d", size>>20, got>>20, (3*size/2)>>20)
	}
}

// BenchmarkMonolithicPush is the driver's side of a 64 MiB monolithic
// push (POST, then one PUT with the whole body and the digest), a new blob
// each time. With -cpuprofile it shows where the driver's CPU goes.
//
//	go test -run '^$' -bench MonolithicPush -benchtime 10x -cpuprofile /tmp/push.prof ./internal/storage/s3/
func BenchmarkMonolithicPush(b *testing.B) {
	opts := options(testserver.StartVersityGW(b, bucket))
	opts.PartSize = s3.DefaultPartSize
	d := newDriver(b, opts)
	content := random(64 << 20)
	b.SetBytes(int64(len(content)))
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		content[0], content[1] = byte(i), byte(i>>8)
		dgst := digest.SHA256.FromBytes(content)
		b.StartTimer()
		if _, err := pushOne(b, d, content, dgst); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHeldBudget: uploads held whole share one budget. While one holds
// it, another that announces its length sends parts as it goes (a
// multipart upload); once the first is committed, its share is back and
// the next push is one PutObject again.
func TestHeldBudget(t *testing.T) {
	g := server(t)
	rec := startRecorder(t, g)
	opts := options(g)
	opts.Endpoint = rec.URL
	size := 2*s3.MinPartSize + 100 // more than a part: a multipart upload unless held
	opts.HeldBudget = int64(size)
	d := newDriver(t, opts)

	first := random(size)
	id := storagetest.NewID()
	w, err := d.Upload(t.Context(), id, -1)
	if err != nil {
		t.Fatal(err)
	}
	w.(storage.Expecter).Expect(int64(size))
	if _, err := w.Write(first[:s3.MinPartSize]); err != nil {
		t.Fatal(err)
	}
	rec.take()

	multipart := func(calls []s3Call) bool {
		for _, c := range writes(calls) {
			if len(c.query) > 0 {
				return true
			}
		}
		return false
	}
	second := random(size)
	if _, err := pushOne(t, d, second, digest.SHA256.FromBytes(second)); err != nil {
		t.Fatalf("second push: %v", err)
	}
	if !multipart(rec.take()) {
		t.Error("a push while the budget is held went as one PutObject: uploads hold more than the budget")
	}

	if _, err := w.Write(first[s3.MinPartSize:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), digest.SHA256.FromBytes(first)); err != nil {
		t.Fatal(err)
	}
	rec.take()
	third := random(size)
	if _, err := pushOne(t, d, third, digest.SHA256.FromBytes(third)); err != nil {
		t.Fatalf("third push: %v", err)
	}
	if multipart(rec.take()) {
		t.Error("a push after the holder committed made a multipart upload: its budget was not given back")
	}
	for _, c := range [][]byte{first, second, third} {
		if got := storagetest.ReadBlob(t, d, digest.SHA256.FromBytes(c)); !bytes.Equal(got, c) {
			t.Fatal("a blob came back different")
		}
	}
}
