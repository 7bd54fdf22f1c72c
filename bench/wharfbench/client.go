package wharfbench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// newClient is the one client both servers get: plain net/http, enough idle
// connections per host for the most concurrent workload, no compression.
func newClient() *http.Client {
	return &http.Client{
		Transport: bearerTransport{&http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}},
		// Follow no redirects silently: neither server should send one here.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type bearerKey struct{}

// withBearer makes every request sent with the returned context carry
// `Authorization: Bearer tok`.
func withBearer(ctx context.Context, tok string) context.Context {
	return context.WithValue(ctx, bearerKey{}, tok)
}

// bearerTransport adds the bearer token of the request's context, if any.
type bearerTransport struct{ next http.RoundTripper }

func (b bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if tok, ok := req.Context().Value(bearerKey{}).(string); ok {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return b.next.RoundTrip(req)
}

func (b bearerTransport) CloseIdleConnections() {
	if c, ok := b.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// drainBuffers hold the buffers drain reads into.
var drainBuffers = sync.Pool{New: func() any { b := make([]byte, drainBuffer); return &b }}

// drainBuffer is the size of drain's reads: large, as a client that streams
// a layer to disk reads, so that a pull measures the server and not the
// client's syscalls. (io.Copy to io.Discard would read 8 KiB at a time.)
const drainBuffer = 1 << 20

// drain reads r to its end and counts the bytes.
func drain(r io.Reader) (int64, error) {
	bp := drainBuffers.Get().(*[]byte)
	defer drainBuffers.Put(bp)
	var n int64
	for {
		m, err := r.Read(*bp)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// do sends a request and drains the body, returning the response (body
// closed), the number of body bytes and an error for any status not in want.
func do(ctx context.Context, c *http.Client, method, u string, body io.Reader, hdr http.Header, want ...int) (*http.Response, int64, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, 0, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	switch b := body.(type) {
	case *bytes.Reader:
		req.ContentLength = int64(b.Len())
	case *io.SectionReader:
		req.ContentLength = b.Size()
	case *os.File:
		// A whole file from its start: net/http then sends it with
		// sendfile, as a client streaming a layer from disk would.
		fi, err := b.Stat()
		if err != nil {
			return nil, 0, err
		}
		req.ContentLength = fi.Size()
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	n, err := drain(res.Body)
	res.Body.Close()
	if err != nil {
		return res, n, fmt.Errorf("%s %s: reading body: %w", method, u, err)
	}
	for _, w := range want {
		if res.StatusCode == w {
			return res, n, nil
		}
	}
	return res, n, fmt.Errorf("%s %s: status %d", method, u, res.StatusCode)
}

// location resolves an upload Location header against base.
func location(base string, res *http.Response) (*url.URL, error) {
	loc := res.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("no Location in %d response", res.StatusCode)
	}
	b, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	return b.Parse(loc)
}

// pushBlob is a monolithic push: POST to open an upload, PUT ?digest with
// the whole body.
func pushBlob(ctx context.Context, c *http.Client, base, repo string, data []byte, digest string) error {
	return pushBody(ctx, c, base, repo, bytes.NewReader(data), digest)
}

// pushBlobFile is pushBlob with the body streamed from the file at path.
func pushBlobFile(ctx context.Context, c *http.Client, base, repo, path, digest string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pushBody(ctx, c, base, repo, f, digest)
}

// pushBody is the monolithic push of body, whose length do knows (a
// *bytes.Reader, or a whole *os.File that net/http sends with sendfile).
func pushBody(ctx context.Context, c *http.Client, base, repo string, body io.Reader, digest string) error {
	u, err := startUpload(ctx, c, base, repo)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", digest)
	u.RawQuery = q.Encode()
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	_, _, err = do(ctx, c, http.MethodPut, u.String(), body, hdr, http.StatusCreated)
	return err
}

// pushChunked is a chunked push: POST, one PATCH with Content-Range per
// chunk of the file at path (following each Location), then PUT ?digest
// with no body.
func pushChunked(ctx context.Context, c *http.Client, base, repo, path, digest string, chunk int64) error {
	u, err := startUpload(ctx, c, base, repo)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	for off := int64(0); off < fi.Size(); off += chunk {
		n := min(chunk, fi.Size()-off)
		hdr := http.Header{
			"Content-Type":  {"application/octet-stream"},
			"Content-Range": {fmt.Sprintf("%d-%d", off, off+n-1)},
		}
		res, _, err := do(ctx, c, http.MethodPatch, u.String(), io.NewSectionReader(f, off, n), hdr, http.StatusAccepted)
		if err != nil {
			return err
		}
		if u, err = location(base, res); err != nil {
			return err
		}
	}
	q := u.Query()
	q.Set("digest", digest)
	u.RawQuery = q.Encode()
	_, _, err = do(ctx, c, http.MethodPut, u.String(), nil, nil, http.StatusCreated)
	return err
}

// startUpload opens an upload session (POST) and returns its location.
func startUpload(ctx context.Context, c *http.Client, base, repo string) (*url.URL, error) {
	res, _, err := do(ctx, c, http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/", nil, nil, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	return location(base, res)
}

// mountBlob mounts a blob from another repository; a server that answers
// 202 (no mount) gets the bytes pushed instead.
func mountBlob(ctx context.Context, c *http.Client, base, repo, from string, data []byte, digest string) error {
	u := base + "/v2/" + repo + "/blobs/uploads/?mount=" + url.QueryEscape(digest) + "&from=" + url.QueryEscape(from)
	res, _, err := do(ctx, c, http.MethodPost, u, nil, nil, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return err
	}
	if res.StatusCode == http.StatusCreated {
		return nil
	}
	return pushBlob(ctx, c, base, repo, data, digest)
}

func putManifest(ctx context.Context, c *http.Client, base, repo, ref string, m []byte) error {
	hdr := http.Header{"Content-Type": {ociManifest}}
	_, _, err := do(ctx, c, http.MethodPut, base+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(m), hdr, http.StatusCreated)
	return err
}

// image is a small OCI image: a config blob, its layers and the manifest.
type image struct {
	config         []byte
	configDigest   string
	layers         [][]byte
	layerDigests   []string
	manifest       []byte
	manifestDigest string
}

func newImage(layers ...[]byte) image {
	return newImageConfig([]byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`), layers...)
}

// newImageConfig is newImage with a config of its own, so that the image
// shares no config blob with others.
func newImageConfig(config []byte, layers ...[]byte) image {
	im := image{config: config, layers: layers}
	im.configDigest = digestOf(im.config)
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{SchemaVersion: 2, MediaType: ociManifest,
		Config: desc{"application/vnd.oci.image.config.v1+json", im.configDigest, len(im.config)}}
	for _, l := range layers {
		d := digestOf(l)
		im.layerDigests = append(im.layerDigests, d)
		m.Layers = append(m.Layers, desc{"application/vnd.oci.image.layer.v1.tar+gzip", d, len(l)})
	}
	im.manifest, _ = json.Marshal(m)
	im.manifestDigest = digestOf(im.manifest)
	return im
}

// blobs lists the image's blobs, config first.
func (im image) blobs() (data [][]byte, digests []string) {
	return append([][]byte{im.config}, im.layers...), append([]string{im.configDigest}, im.layerDigests...)
}

// pushImage pushes (or mounts, with from set) the image's blobs into repo
// and puts its manifest under each tag.
func pushImage(ctx context.Context, c *http.Client, base, repo, from string, im image, tags ...string) error {
	data, digests := im.blobs()
	for i := range data {
		var err error
		if from != "" {
			err = mountBlob(ctx, c, base, repo, from, data[i], digests[i])
		} else {
			err = pushBlob(ctx, c, base, repo, data[i], digests[i])
		}
		if err != nil {
			return err
		}
	}
	for _, t := range tags {
		if err := putManifest(ctx, c, base, repo, t, im.manifest); err != nil {
			return err
		}
	}
	return nil
}

// pushImageChecked is what docker and crane do for each image: HEAD every
// blob, push the missing ones, then PUT the manifest under tag.
func pushImageChecked(ctx context.Context, c *http.Client, base, repo string, im image, tag string) error {
	data, digests := im.blobs()
	for i := range data {
		res, _, err := do(ctx, c, http.MethodHead, base+"/v2/"+repo+"/blobs/"+digests[i], nil, nil, http.StatusOK, http.StatusNotFound)
		if err != nil {
			return err
		}
		if res.StatusCode == http.StatusOK {
			continue
		}
		if err := pushBlob(ctx, c, base, repo, data[i], digests[i]); err != nil {
			return err
		}
	}
	return putManifest(ctx, c, base, repo, tag, im.manifest)
}

// pullImage is a pull: the manifest by tag, then the config and every layer,
// checking the length of each.
func pullImage(ctx context.Context, c *http.Client, base, repo string, im image, tag string) error {
	hdr := http.Header{"Accept": {ociManifest}}
	_, n, err := do(ctx, c, http.MethodGet, base+"/v2/"+repo+"/manifests/"+tag, nil, hdr, http.StatusOK)
	if err != nil {
		return err
	}
	if n != int64(len(im.manifest)) {
		return fmt.Errorf("GET %s manifest %s: %d bytes, want %d", repo, tag, n, len(im.manifest))
	}
	data, digests := im.blobs()
	for i := range data {
		u := base + "/v2/" + repo + "/blobs/" + digests[i]
		_, n, err := do(ctx, c, http.MethodGet, u, nil, nil, http.StatusOK)
		if err != nil {
			return err
		}
		if n != int64(len(data[i])) {
			return fmt.Errorf("GET %s: %d bytes, want %d", u, n, len(data[i]))
		}
	}
	return nil
}

// walk follows Link headers from first until there is none, returning the
// number of pages read.
func walk(ctx context.Context, c *http.Client, base, first string) (int, error) {
	next, pages := first, 0
	for next != "" {
		res, _, err := do(ctx, c, http.MethodGet, base+next, nil, nil, http.StatusOK)
		if err != nil {
			return pages, err
		}
		pages++
		next = nextLink(res.Header.Get("Link"))
	}
	return pages, nil
}

// nextLink extracts the path of a `<...>; rel="next"` Link header.
func nextLink(h string) string {
	if h == "" {
		return ""
	}
	start, end := strings.Index(h, "<"), strings.Index(h, ">")
	if start < 0 || end <= start {
		return ""
	}
	l := h[start+1 : end]
	// Either server may send an absolute URL; keep path and query.
	if u, err := url.Parse(l); err == nil && u.Host != "" {
		return u.RequestURI()
	}
	return l
}
