package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
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
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/singleflight"

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

// maxTokens bounds the repositories' tokens kept: past it the set is
// dropped and each repository asks for a token again.
const maxTokens = 1024

// Client speaks the distribution API to one upstream registry.
type Client struct {
	base    *url.URL
	reg     name.Registry
	auth    authn.Authenticator
	inner   http.RoundTripper
	timeout time.Duration
	limits  rateLimits
	// now is the clock tokens expire by (tests set it).
	now func() time.Time

	// challenge is the upstream's answer to GET /v2/ without credentials:
	// how it wants to be authenticated. nil until asked.
	chMu      sync.Mutex
	challenge *transport.Challenge

	// tokens are the Bearer tokens by scope, each until shortly before it
	// expires; tokenFlights makes concurrent requests of one scope share
	// one token request.
	tokMu         sync.Mutex
	tokens        map[string]cachedToken
	tokenFlights  singleflight.Group
	tokenRequests atomic.Int64
}

// cachedToken is a Bearer token and when to stop using it.
type cachedToken struct {
	value     string
	refreshAt time.Time
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
	c := &Client{base: u, reg: reg, auth: a, timeout: opts.Timeout, now: time.Now, tokens: map[string]cachedToken{}}
	c.inner = transport.NewUserAgent(&recorder{inner: ht, host: u.Host, limits: &c.limits}, opts.UserAgent)
	return c, nil
}

// Host is the upstream's host:port, for messages.
func (c *Client) Host() string { return c.base.Host }

// TokenRequests counts the token requests sent so far.
func (c *Client) TokenRequests() int64 { return c.tokenRequests.Load() }

// pullScope is the token scope of a pull of repo, which it validates.
func (c *Client) pullScope(repo string) (string, error) {
	r, err := name.NewRepository(repo, name.WithDefaultRegistry(c.reg.RegistryStr()))
	if err != nil {
		return "", fmt.Errorf("upstream: %w: %v", ErrInvalidName, err)
	}
	return r.Scope(transport.PullScope), nil
}

// ping returns the upstream's challenge, asking for it the first time (or
// again when again is set: the upstream may have changed how it
// authenticates).
func (c *Client) ping(ctx context.Context, again bool) (*transport.Challenge, error) {
	c.chMu.Lock()
	ch := c.challenge
	c.chMu.Unlock()
	if ch != nil && !again {
		return ch, nil
	}
	ch, err := transport.Ping(ctx, c.reg, c.inner)
	if err != nil {
		return nil, c.wrap(err)
	}
	c.chMu.Lock()
	c.challenge = ch
	c.chMu.Unlock()
	return ch, nil
}

// do sends one request for repo's path under /v2/, authenticated as the
// upstream's challenge asks: a Bearer token of repo's pull scope (kept
// until shortly before it expires, asked for again once when the upstream
// refuses it), Basic credentials, or none.
func (c *Client) do(ctx context.Context, method, repo, path string, header http.Header) (*http.Response, error) {
	scope, err := c.pullScope(repo)
	if err != nil {
		return nil, err
	}
	ch, err := c.ping(ctx, false)
	if err != nil {
		return nil, err
	}
	u := *c.base
	u.Path = "/v2/" + repo + "/" + path
	send := func(authorization string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("upstream: %w", err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := (&http.Client{Transport: authorizing{c: c, value: authorization}}).Do(req)
		if err != nil {
			return nil, c.wrap(err)
		}
		return res, nil
	}
	switch strings.ToLower(ch.Scheme) {
	case "bearer":
		tok, err := c.token(ctx, ch, scope, "")
		if err != nil {
			return nil, err
		}
		res, err := send("Bearer " + tok)
		if err != nil || res.StatusCode != http.StatusUnauthorized {
			return res, err
		}
		// Refused (revoked, or the upstream's keys changed): one new
		// token, shared with the requests refused with the same one.
		res.Body.Close()
		if tok, err = c.token(ctx, ch, scope, tok); err != nil {
			return nil, err
		}
		return send("Bearer " + tok)
	case "basic":
		cfg, err := authn.Authorization(ctx, c.auth)
		if err != nil {
			return nil, c.wrap(err)
		}
		if cfg.Username == "" {
			return send("")
		}
		return send("Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	}
	res, err := send("")
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	// An upstream that wanted nothing now wants credentials: ask it how,
	// once.
	if again, perr := c.ping(ctx, true); perr == nil && !strings.EqualFold(again.Scheme, ch.Scheme) {
		res.Body.Close()
		return c.do(ctx, method, repo, path, header)
	}
	return res, nil
}

// authorizing sends value as the Authorization of requests to the upstream
// only: a redirect to another host (a blob's storage) gets none.
type authorizing struct {
	c     *Client
	value string
}

func (a authorizing) RoundTrip(req *http.Request) (*http.Response, error) {
	if a.value != "" && req.URL.Host == a.c.base.Host && req.URL.Scheme == a.c.base.Scheme {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", a.value)
	}
	return a.c.inner.RoundTrip(req)
}

// defaultTokenLife is a token's life when the token service does not say
// (the distribution token specification's default).
const defaultTokenLife = 60 * time.Second

// refreshMargin is how long before its expiry a token is replaced: a
// tenth of its life, at most 10s, so that a request does not carry a
// token that expires on its way.
func refreshMargin(life time.Duration) time.Duration { return min(life/10, 10*time.Second) }

// token returns the Bearer token of scope: the one kept while it is fresh,
// else a new one from the upstream's token service. refused is a token the
// upstream just refused, which is not returned again. Concurrent callers
// of one scope share one token request.
func (c *Client) token(ctx context.Context, ch *transport.Challenge, scope, refused string) (string, error) {
	fresh := func() (string, bool) {
		c.tokMu.Lock()
		defer c.tokMu.Unlock()
		t, ok := c.tokens[scope]
		return t.value, ok && t.value != refused && c.now().Before(t.refreshAt)
	}
	if v, ok := fresh(); ok {
		return v, nil
	}
	v, err, _ := c.tokenFlights.Do(scope, func() (any, error) {
		if v, ok := fresh(); ok {
			return v, nil
		}
		// The request is shared: one caller's cancellation must not fail
		// the others.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		start := c.now()
		c.tokenRequests.Add(1)
		tok, err := transport.Exchange(tctx, c.reg, c.auth, c.inner, []string{scope}, ch)
		if err != nil {
			return "", c.wrap(err)
		}
		value := tok.Token
		if value == "" {
			value = tok.AccessToken
		}
		life := time.Duration(tok.ExpiresIn) * time.Second
		if life <= 0 {
			life = defaultTokenLife
		}
		c.tokMu.Lock()
		if len(c.tokens) >= maxTokens {
			clear(c.tokens)
		}
		c.tokens[scope] = cachedToken{value: value, refreshAt: start.Add(life - refreshMargin(life))}
		c.tokMu.Unlock()
		return value, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
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

// Ping does the handshake for repo — the upstream's challenge, and a new
// token when it asks for one — with the client's credentials: it proves
// the upstream answers and accepts them, without fetching anything.
func (c *Client) Ping(ctx context.Context, repo string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	scope, err := c.pullScope(repo)
	if err != nil {
		return err
	}
	ch, err := c.ping(ctx, true)
	if err != nil || !strings.EqualFold(ch.Scheme, "bearer") {
		return err
	}
	c.tokMu.Lock()
	delete(c.tokens, scope)
	c.tokMu.Unlock()
	_, err = c.token(ctx, ch, scope, "")
	return err
}
