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
	"strings"
	"time"
)

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// newClient is the one client both servers get: plain net/http, enough idle
// connections per host for the most concurrent workload, no compression.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		// Follow no redirects silently: neither server should send one here.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
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
	if b, ok := body.(*bytes.Reader); ok {
		req.ContentLength = int64(b.Len())
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(io.Discard, res.Body)
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
	res, _, err := do(ctx, c, http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/", nil, nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	u, err := location(base, res)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", digest)
	u.RawQuery = q.Encode()
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	_, _, err = do(ctx, c, http.MethodPut, u.String(), bytes.NewReader(data), hdr, http.StatusCreated)
	return err
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

// image is a small OCI image: a config blob, one layer and the manifest.
type image struct {
	config, layer             []byte
	configDigest, layerDigest string
	manifest                  []byte
	manifestDigest            string
}

func newImage(layer []byte) image {
	im := image{config: []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`), layer: layer}
	im.configDigest, im.layerDigest = digestOf(im.config), digestOf(im.layer)
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
	}{2, ociManifest,
		desc{"application/vnd.oci.image.config.v1+json", im.configDigest, len(im.config)},
		[]desc{{"application/vnd.oci.image.layer.v1.tar+gzip", im.layerDigest, len(im.layer)}}}
	im.manifest, _ = json.Marshal(m)
	im.manifestDigest = digestOf(im.manifest)
	return im
}

// pushImage pushes (or mounts, with from set) the image's blobs into repo
// and puts its manifest under each tag.
func pushImage(ctx context.Context, c *http.Client, base, repo, from string, im image, tags ...string) error {
	for _, b := range []struct {
		data   []byte
		digest string
	}{{im.config, im.configDigest}, {im.layer, im.layerDigest}} {
		var err error
		if from != "" {
			err = mountBlob(ctx, c, base, repo, from, b.data, b.digest)
		} else {
			err = pushBlob(ctx, c, base, repo, b.data, b.digest)
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
