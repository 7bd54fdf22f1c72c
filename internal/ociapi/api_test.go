package ociapi_test

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/ociapi"
	"wharf/internal/registry"
	"wharf/internal/storage/memory"
)

// newServer starts the real handler over in-memory blobs and a SQLite
// store in a temporary directory.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	return newServerWith(t, nil, ociapi.Options{DeleteEnabled: true})
}

// newServerWith is newServer with an authorizer and options.
func newServerWith(t *testing.T, authz ociapi.Authorizer, opts ociapi.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newHandler(t, authz, opts))
	t.Cleanup(srv.Close)
	return srv
}

// newHandler is the handler newServerWith serves; the registry's copy
// buffers are budgeted for opts.MaxUploads, as the server does.
func newHandler(t *testing.T, authz ociapi.Authorizer, opts ociapi.Options) http.Handler {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	reg := registry.New(memory.New(), meta, log, registry.Options{AnonymousMount: true, MaxUploads: opts.MaxUploads})
	return ociapi.New(reg, log, authz, opts)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) code() string {
	var b struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if json.Unmarshal(r.body, &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	return b.Errors[0].Code
}

func do(t *testing.T, method, url string, body []byte, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func expect(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("got %d %q (%s), want %d %q", r.status, r.code(), r.body, status, code)
	}
}

// pushBlob uploads content with POST + PUT and returns its digest.
func pushBlob(t *testing.T, base, repo string, content []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(content)
	r := do(t, "POST", base+"/v2/"+repo+"/blobs/uploads/?digest="+d.String(), content)
	expect(t, r, http.StatusCreated, "")
	return d
}

func imageManifest(config, layer digest.Digest, sizes ...int) []byte {
	return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}`,
		config, sizes[0], layer, sizes[1]))
}

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

func TestBadInputLosesNothing(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	base := srv.URL
	cfg := pushBlob(t, base, "good/repo", []byte("{}"))
	layer := pushBlob(t, base, "good/repo", []byte("layer"))
	good := imageManifest(cfg, layer, 2, 5)
	expect(t, do(t, "PUT", base+"/v2/good/repo/manifests/v1", good, "Content-Type", ociManifest), http.StatusCreated, "")

	missing := digest.FromString("missing")
	huge := append([]byte(`{"schemaVersion":2,"x":"`), bytes.Repeat([]byte("a"), 4<<20)...)
	tests := []struct {
		name, method, path string
		body               []byte
		header             []string
		status             int
		code               string
	}{
		{"traversal", "GET", "/v2/../../etc/manifests/passwd", nil, nil, 400, "NAME_INVALID"},
		{"encoded traversal", "GET", "/v2/%2e%2e/x/manifests/y", nil, nil, 400, "NAME_INVALID"},
		{"uppercase name", "GET", "/v2/Bad/tags/list", nil, nil, 400, "NAME_INVALID"},
		{"bad digest", "GET", "/v2/good/repo/blobs/sha256:nothex", nil, nil, 400, "DIGEST_INVALID"},
		{"unsupported algorithm", "HEAD", "/v2/good/repo/blobs/sha384:" + strings.Repeat("a", 96), nil, nil, 400, ""},
		{"unknown blob", "GET", "/v2/good/repo/blobs/" + missing.String(), nil, nil, 404, "BLOB_UNKNOWN"},
		{"unknown manifest", "GET", "/v2/good/repo/manifests/nope", nil, nil, 404, "MANIFEST_UNKNOWN"},
		{"unknown repository tags", "GET", "/v2/no/such/tags/list", nil, nil, 404, "NAME_UNKNOWN"},
		{"invalid tag", "PUT", "/v2/good/repo/manifests/-bad", good, []string{"Content-Type", ociManifest}, 400, "TAG_INVALID"},
		{"malformed manifest", "PUT", "/v2/good/repo/manifests/v2", []byte("{not json"), []string{"Content-Type", ociManifest}, 400, "MANIFEST_INVALID"},
		{"oversized manifest", "PUT", "/v2/good/repo/manifests/v2", huge, []string{"Content-Type", ociManifest}, 413, "SIZE_INVALID"},
		{"missing blob", "PUT", "/v2/good/repo/manifests/v2", imageManifest(cfg, missing, 2, 5), []string{"Content-Type", ociManifest}, 400, "MANIFEST_BLOB_UNKNOWN"},
		{"blob from another repo", "PUT", "/v2/other/manifests/v2", good, []string{"Content-Type", ociManifest}, 400, "MANIFEST_BLOB_UNKNOWN"},
		{"digest mismatch in URL", "PUT", "/v2/good/repo/manifests/" + missing.String(), good, []string{"Content-Type", ociManifest}, 400, "DIGEST_INVALID"},
		{"unknown upload", "PATCH", "/v2/good/repo/blobs/uploads/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", []byte("x"), nil, 404, "BLOB_UPLOAD_UNKNOWN"},
		{"traversal upload id", "PATCH", "/v2/good/repo/blobs/uploads/..", []byte("x"), nil, 404, "BLOB_UPLOAD_UNKNOWN"},
		{"bad pagination", "GET", "/v2/good/repo/tags/list?n=-1", nil, nil, 400, "PAGINATION_NUMBER_INVALID"},
		{"wrong method", "POST", "/v2/good/repo/manifests/v1", nil, nil, 405, "UNSUPPORTED"},
		{"unknown route", "GET", "/v2/good/repo/whatever", nil, nil, 404, "NOT_FOUND"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, base+tc.path, tc.body, tc.header...)
			if r.status != tc.status || (tc.code != "" && r.code() != tc.code) {
				t.Fatalf("got %d %q (%s), want %d %q", r.status, r.code(), r.body, tc.status, tc.code)
			}
		})
	}
	// Nothing was stored by the refused requests, and the server still serves.
	tags := do(t, "GET", base+"/v2/good/repo/tags/list", nil)
	expect(t, tags, 200, "")
	if string(bytes.TrimSpace(tags.body)) != `{"name":"good/repo","tags":["v1"]}` {
		t.Errorf("tags after bad input: %s", tags.body)
	}
	cat := do(t, "GET", base+"/v2/_catalog", nil)
	if string(bytes.TrimSpace(cat.body)) != `{"repositories":["good/repo"]}` {
		t.Errorf("catalog after bad input: %s", cat.body)
	}
}

func TestChunkedUpload(t *testing.T) {
	t.Parallel()
	base := newServer(t).URL
	content := bytes.Repeat([]byte("0123456789"), 1000)
	r := do(t, "POST", base+"/v2/c/blobs/uploads/", nil)
	expect(t, r, 202, "")
	loc := base + r.header.Get("Location")
	if r.header.Get("Range") != "0-0" {
		t.Errorf("new upload Range = %q", r.header.Get("Range"))
	}
	r = do(t, "PATCH", loc, content[:4000], "Content-Range", "0-3999", "Content-Type", "application/octet-stream")
	expect(t, r, 202, "")
	if r.header.Get("Range") != "0-3999" {
		t.Fatalf("Range after first chunk = %q", r.header.Get("Range"))
	}
	// Out of order: refused with 416, nothing changes.
	r = do(t, "PATCH", loc, content[5000:6000], "Content-Range", "5000-5999")
	expect(t, r, 416, "BLOB_UPLOAD_INVALID")
	r = do(t, "PATCH", loc, content[4000:5000], "Content-Range", "garbage")
	expect(t, r, 416, "BLOB_UPLOAD_INVALID")
	r = do(t, "PATCH", loc, content[4000:5007], "Content-Range", "4000-4999")
	expect(t, r, 400, "SIZE_INVALID")
	r = do(t, "GET", loc, nil)
	expect(t, r, 204, "")
	if r.header.Get("Range") != "0-3999" {
		t.Fatalf("status Range = %q, want 0-3999", r.header.Get("Range"))
	}
	// A streamed chunk without Content-Range, then the last bytes on PUT,
	// verified as sha512 (a second pass over the staged bytes).
	expect(t, do(t, "PATCH", loc, content[4000:9000]), 202, "")
	sum := sha512.Sum512(content)
	d512 := "sha512:" + hex.EncodeToString(sum[:])
	r = do(t, "PUT", loc+"?digest="+d512, content[9000:])
	expect(t, r, 201, "")
	if r.header.Get("Docker-Content-Digest") != d512 {
		t.Errorf("Docker-Content-Digest = %q", r.header.Get("Docker-Content-Digest"))
	}
	got := do(t, "GET", base+"/v2/c/blobs/"+d512, nil)
	if !bytes.Equal(got.body, content) {
		t.Fatalf("blob round trip: got %d bytes", len(got.body))
	}
	rng := do(t, "GET", base+"/v2/c/blobs/"+d512, nil, "Range", "bytes=10-19")
	if rng.status != 206 || string(rng.body) != "0123456789" {
		t.Fatalf("range GET: %d %q", rng.status, rng.body)
	}
}

func TestWrongDigestDiscardsUpload(t *testing.T) {
	t.Parallel()
	base := newServer(t).URL
	r := do(t, "POST", base+"/v2/w/blobs/uploads/", nil)
	loc := base + r.header.Get("Location")
	expect(t, do(t, "PATCH", loc, []byte("hello")), 202, "")
	wrong := digest.FromString("other")
	expect(t, do(t, "PUT", loc+"?digest="+wrong.String(), nil), 400, "DIGEST_INVALID")
	expect(t, do(t, "GET", loc, nil), 404, "BLOB_UPLOAD_UNKNOWN")
	expect(t, do(t, "HEAD", base+"/v2/w/blobs/"+wrong.String(), nil), 404, "")
	expect(t, do(t, "HEAD", base+"/v2/w/blobs/"+digest.FromString("hello").String(), nil), 404, "")
}

func TestPaginationAndReferrers(t *testing.T) {
	t.Parallel()
	base := newServer(t).URL
	cfg := pushBlob(t, base, "p", []byte("{}"))
	layer := pushBlob(t, base, "p", []byte("l"))
	m := imageManifest(cfg, layer, 2, 1)
	md := digest.FromBytes(m)
	for _, tag := range []string{"c", "a", "b", "d"} {
		expect(t, do(t, "PUT", base+"/v2/p/manifests/"+tag, m, "Content-Type", ociManifest), 201, "")
	}
	r := do(t, "GET", base+"/v2/p/tags/list?n=2", nil)
	if string(bytes.TrimSpace(r.body)) != `{"name":"p","tags":["a","b"]}` {
		t.Fatalf("first page: %s", r.body)
	}
	if link := r.header.Get("Link"); link != `</v2/p/tags/list?n=2&last=b>; rel="next"` {
		t.Fatalf("Link = %q", link)
	}
	r = do(t, "GET", base+"/v2/p/tags/list?n=2&last=b", nil)
	if string(bytes.TrimSpace(r.body)) != `{"name":"p","tags":["c","d"]}` || r.header.Get("Link") != "" {
		t.Fatalf("last page: %s Link=%q", r.body, r.header.Get("Link"))
	}
	// A referrer with an artifactType, pushed by digest with ?tag=.
	ref := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x-sig",`+
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[],`+
		`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d}}`, cfg, md, len(m)))
	rd := digest.FromBytes(ref)
	r = do(t, "PUT", base+"/v2/p/manifests/"+rd.String()+"?tag=sig1&tag=sig2", ref, "Content-Type", ociManifest)
	expect(t, r, 201, "")
	if r.header.Get("OCI-Subject") != md.String() || len(r.header.Values("OCI-Tag")) != 2 {
		t.Fatalf("push headers: %v", r.header)
	}
	for _, q := range []struct {
		query, filter string
		count         int
	}{{"", "", 1}, {"?artifactType=application/x-sig", "artifactType", 1}, {"?artifactType=other", "artifactType", 0}} {
		r = do(t, "GET", base+"/v2/p/referrers/"+md.String()+q.query, nil)
		var idx struct {
			Manifests []struct{ ArtifactType string } `json:"manifests"`
		}
		if err := json.Unmarshal(r.body, &idx); err != nil || r.status != 200 {
			t.Fatalf("referrers%s: %d %s", q.query, r.status, r.body)
		}
		if len(idx.Manifests) != q.count || r.header.Get("OCI-Filters-Applied") != q.filter {
			t.Errorf("referrers%s: %s, filters %q", q.query, r.body, r.header.Get("OCI-Filters-Applied"))
		}
	}
	// Deleting by digest removes every tag pointing at the manifest.
	expect(t, do(t, "DELETE", base+"/v2/p/manifests/"+md.String(), nil), 202, "")
	r = do(t, "GET", base+"/v2/p/tags/list", nil)
	if string(bytes.TrimSpace(r.body)) != `{"name":"p","tags":["sig1","sig2"]}` {
		t.Fatalf("tags after delete: %s", r.body)
	}
}

func TestMount(t *testing.T) {
	t.Parallel()
	base := newServer(t).URL
	d := pushBlob(t, base, "src", []byte("shared layer"))
	expect(t, do(t, "HEAD", base+"/v2/dst/blobs/"+d.String(), nil), 404, "")
	r := do(t, "POST", base+"/v2/dst/blobs/uploads/?mount="+d.String()+"&from=src", nil)
	expect(t, r, 201, "")
	if r.header.Get("Location") != "/v2/dst/blobs/"+d.String() {
		t.Errorf("mount Location = %q", r.header.Get("Location"))
	}
	expect(t, do(t, "HEAD", base+"/v2/dst/blobs/"+d.String(), nil), 200, "")
	// A mount of an unknown blob falls back to a new upload session.
	r = do(t, "POST", base+"/v2/dst/blobs/uploads/?mount="+digest.FromString("x").String()+"&from=src", nil)
	expect(t, r, 202, "")
}
