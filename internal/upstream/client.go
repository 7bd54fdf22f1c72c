package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"wharf/internal/auth"
)

// Options configure a Client.
type Options struct {
	// URL is the upstream's base URL, http:// or https://.
	URL string
	// Username and Password are sent to the upstream's token service (or
	// as Basic); empty means anonymous.
	Username string
	Password auth.Secret
	// Credentials, when set, is asked for the credentials instead of
	// Username and Password each time the upstream is to be given them
	// (a token request, a Basic request), so that a change takes effect
	// without a new client. A zero Credential is anonymous. Its error
	// fails that request; it must never hold the password.
	Credentials func(ctx context.Context) (Credential, error)
	// CAFile is a PEM bundle trusted instead of the system roots.
	CAFile string
	// InsecureSkipVerify accepts any certificate (tests only).
	InsecureSkipVerify bool
	// Timeout bounds the wait for an answer's headers, and the whole of a
	// manifest request. Zero means 30s.
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// maxTransports bounds the per-repository transports kept: past it the
// set is dropped and rebuilt on demand, which costs a ping and a token.
const maxTransports = 1024

// Client speaks the distribution API to one upstream registry.
type Client struct {
	base    *url.URL
	reg     name.Registry
	auth    authn.Authenticator
	inner   http.RoundTripper
	timeout time.Duration
	limits  rateLimits

	mu         sync.Mutex
	transports map[string]http.RoundTripper
}

// New returns a client of the upstream opts.URL names. It makes no request.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream: %q is not an http:// or https:// URL", opts.URL)
	}
	var nameOpts []name.Option
	if u.Scheme == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	reg, err := name.NewRegistry(u.Host, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("upstream: %s: %w", u.Host, err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipVerify} //nolint:gosec // a test-only setting the operator names
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("upstream: ca_file %s holds no PEM certificate", opts.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	ht := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
	}
	var a authn.Authenticator = authn.Anonymous
	switch {
	case opts.Credentials != nil:
		a = dynamicAuth(opts.Credentials)
	case opts.Username != "":
		a = authn.FromConfig(authn.AuthConfig{Username: opts.Username, Password: opts.Password.Reveal()})
	}
	c := &Client{base: u, reg: reg, auth: a, timeout: opts.Timeout, transports: map[string]http.RoundTripper{}}
	c.inner = transport.NewUserAgent(&recorder{inner: ht, host: u.Host, limits: &c.limits}, opts.UserAgent)
	return c, nil
}

// Host is the upstream's host:port, for messages.
func (c *Client) Host() string { return c.base.Host }

// transportFor returns the authenticated transport of one repository,
// doing the handshake (ping, token) the first time.
func (c *Client) transportFor(ctx context.Context, repo string) (http.RoundTripper, error) {
	c.mu.Lock()
	t, ok := c.transports[repo]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	r, err := name.NewRepository(repo, name.WithDefaultRegistry(c.reg.RegistryStr()))
	if err != nil {
		return nil, fmt.Errorf("upstream: %w: %v", ErrInvalidName, err)
	}
	r.Registry = c.reg
	t, err = transport.NewWithContext(ctx, c.reg, c.auth, c.inner, []string{r.Scope(transport.PullScope)})
	if err != nil {
		return nil, c.wrap(err)
	}
	c.mu.Lock()
	if len(c.transports) >= maxTransports {
		clear(c.transports)
	}
	c.transports[repo] = t
	c.mu.Unlock()
	return t, nil
}

// forget drops a repository's transport, so that the next request does
// the handshake again (after the upstream refused its token).
func (c *Client) forget(repo string) {
	c.mu.Lock()
	delete(c.transports, repo)
	c.mu.Unlock()
}

// do sends one request for repo's path under /v2/.
func (c *Client) do(ctx context.Context, method, repo, path string, header http.Header) (*http.Response, error) {
	t, err := c.transportFor(ctx, repo)
	if err != nil {
		return nil, err
	}
	u := *c.base
	u.Path = "/v2/" + repo + "/" + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return nil, c.wrap(err)
	}
	if res.StatusCode == http.StatusUnauthorized {
		c.forget(repo)
	}
	return res, nil
}

// wrap turns a transport failure into an error naming the upstream:
// *StatusError for an answer, ErrUnreachable otherwise.
func (c *Client) wrap(err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		se := &StatusError{Host: c.base.Host, Status: te.StatusCode}
		if len(te.Errors) > 0 {
			se.Code, se.Message = string(te.Errors[0].Code), te.Errors[0].Message
		}
		return se
	}
	if errors.Is(err, ErrInvalidName) {
		return err
	}
	if errors.Is(err, ErrCredentials) {
		return fmt.Errorf("upstream: %s: %w", c.base.Host, err)
	}
	return fmt.Errorf("upstream: %s: %w: %s", c.base.Host, ErrUnreachable, scrub(err))
}

// scrub is an error's message without a URL's query, where a token
// service's answer may echo credentials.
func scrub(err error) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery, u.User = "", nil
			msg = ue.Op + " " + u.String() + ": " + ue.Err.Error()
		}
	}
	return msg
}

// statusError reads a non-2xx answer's OCI error, at most 64 KiB of it.
func (c *Client) statusError(res *http.Response) error {
	defer res.Body.Close()
	se := &StatusError{Host: c.base.Host, Status: res.StatusCode}
	if ra := res.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			se.RetryAfter = time.Duration(s) * time.Second
		}
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if te := transport.CheckError(&http.Response{StatusCode: res.StatusCode, Body: io.NopCloser(strings.NewReader(string(body))), Request: res.Request}, http.StatusOK); te != nil {
		var tErr *transport.Error
		if errors.As(te, &tErr) && len(tErr.Errors) > 0 {
			se.Code, se.Message = string(tErr.Errors[0].Code), tErr.Errors[0].Message
		}
	}
	return se
}

// ManifestAccept lists every manifest media type Wharf stores, for the
// Accept header: without it Docker Hub answers schema1.
var ManifestAccept = strings.Join([]string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

// Manifest is a manifest the upstream answered: with its payload after a
// GET, without after a HEAD.
type Manifest struct {
	MediaType string
	Digest    digest.Digest
	Size      int64
	Payload   []byte
}

// MaxManifestSize is the largest manifest read (4 MiB, as every registry).
const MaxManifestSize = 4 << 20

// GetManifest fetches repo's manifest ref (a tag or a digest) and checks
// its digest: against ref when it is one, against the upstream's
// Docker-Content-Digest otherwise.
func (c *Client) GetManifest(ctx context.Context, repo, ref string) (*Manifest, error) {
	return c.manifest(ctx, http.MethodGet, repo, ref)
}

// HeadManifest asks for repo's manifest ref without its payload: what a
// tag points at now. Docker Hub does not count a HEAD against the pull
// limit.
func (c *Client) HeadManifest(ctx context.Context, repo, ref string) (*Manifest, error) {
	return c.manifest(ctx, http.MethodHead, repo, ref)
}

func (c *Client) manifest(ctx context.Context, method, repo, ref string) (*Manifest, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := c.do(ctx, method, repo, "manifests/"+ref, http.Header{"Accept": {ManifestAccept}})
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, c.statusError(res)
	}
	defer res.Body.Close()
	m := &Manifest{MediaType: res.Header.Get("Content-Type"), Size: res.ContentLength}
	if i := strings.IndexByte(m.MediaType, ';'); i >= 0 {
		m.MediaType = strings.TrimSpace(m.MediaType[:i])
	}
	named, _ := digest.Parse(res.Header.Get("Docker-Content-Digest"))
	if strings.Contains(ref, ":") {
		want, err := digest.Parse(ref)
		if err != nil {
			return nil, fmt.Errorf("upstream: %w: %v", ErrInvalidName, err)
		}
		named = want
	}
	if method == http.MethodHead {
		if named == "" {
			return nil, fmt.Errorf("upstream: %s answered a HEAD of %s:%s without Docker-Content-Digest", c.base.Host, repo, ref)
		}
		m.Digest = named
		return m, nil
	}
	if m.Payload, err = io.ReadAll(io.LimitReader(res.Body, MaxManifestSize+1)); err != nil {
		return nil, c.wrap(err)
	}
	if len(m.Payload) > MaxManifestSize {
		return nil, fmt.Errorf("upstream: %s: the manifest %s:%s is larger than 4 MiB", c.base.Host, repo, ref)
	}
	m.Size = int64(len(m.Payload))
	alg := digest.Canonical
	if named != "" && named.Algorithm().Available() {
		alg = named.Algorithm()
	}
	m.Digest = alg.FromBytes(m.Payload)
	if named != "" && named != m.Digest {
		return nil, fmt.Errorf("upstream: %s: %w: the manifest %s:%s hashes to %s, not %s", c.base.Host, ErrDigestMismatch, repo, ref, m.Digest, named)
	}
	return m, nil
}

// GetBlob opens the bytes of repo's blob dgst and returns them with their
// length (-1 when the upstream did not say). The caller verifies the
// digest as it reads and closes the body.
func (c *Client) GetBlob(ctx context.Context, repo string, dgst digest.Digest) (io.ReadCloser, int64, error) {
	res, err := c.do(ctx, http.MethodGet, repo, "blobs/"+dgst.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, 0, c.statusError(res)
	}
	return res.Body, res.ContentLength, nil
}

// HeadBlob returns the size of repo's blob dgst.
func (c *Client) HeadBlob(ctx context.Context, repo string, dgst digest.Digest) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	res, err := c.do(ctx, http.MethodHead, repo, "blobs/"+dgst.String(), nil)
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, c.statusError(res)
	}
	res.Body.Close()
	return res.ContentLength, nil
}

// Ping does the handshake for repo — the upstream's challenge, and a token
// when it asks for one — with the client's credentials: it proves the
// upstream answers and accepts them, without fetching anything.
func (c *Client) Ping(ctx context.Context, repo string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.forget(repo)
	_, err := c.transportFor(ctx, repo)
	return err
}
