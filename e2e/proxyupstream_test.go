package e2e

// What the proxy tests share: a counting, throttling, failing front of an
// upstream registry, the mirror's configuration, and pushes and pulls that
// check every byte.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/crypto/bcrypt"

	"wharf/e2e/harness"
)

// upstreamCounter is a reverse proxy in front of an upstream registry that
// counts what the mirror asks it, by method and kind, and can be told to
// answer 429 or to stop answering at all.
type upstreamCounter struct {
	srv     *httptest.Server
	mu      sync.Mutex
	counts  map[string]int // "GET manifests", "HEAD manifests", "GET blobs", …
	paths   []string       // every path asked, in order
	log     *os.File
	status  atomic.Int32 // when not 0, every /v2/ request is answered with it
	corrupt atomic.Bool  // flip the first byte of every blob
	delay   atomic.Int64 // when not 0, every /v2/ answer waits this long (a time.Duration)
	slowBy  time.Duration
	slowPer int64
	// pauseAfter, when not 0, holds every blob body after that many bytes
	// until release is closed.
	pauseAfter atomic.Int64
	release    chan struct{}
}

// askedFor reports whether a path under /v2/<repo>/ was asked.
func (c *upstreamCounter) askedFor(repo string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.paths, func(p string) bool { return strings.HasPrefix(p, "/v2/"+repo+"/") })
}

func startUpstreamCounter(t *testing.T, target string, slowPer int64, slowBy time.Duration) *upstreamCounter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "upstream-counter.log"))
	if err != nil {
		t.Fatal(err)
	}
	c := &upstreamCounter{counts: map[string]int{}, log: logf, slowPer: slowPer, slowBy: slowBy, release: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(res *http.Response) error {
		// Docker Hub's rate-limit headers, 100 pulls a window less the
		// manifests fetched.
		res.Header.Set("RateLimit-Limit", "100;w=21600")
		res.Header.Set("RateLimit-Remaining", fmt.Sprintf("%d;w=21600", 100-c.count("GET manifests")))
		if c.slowBy > 0 && strings.Contains(res.Request.URL.Path, "/blobs/") {
			res.Body = &slowBody{ReadCloser: res.Body, per: c.slowPer, by: c.slowBy}
		}
		if n := c.pauseAfter.Load(); n > 0 && strings.Contains(res.Request.URL.Path, "/blobs/") {
			res.Body = &pausingBody{ReadCloser: res.Body, left: n, release: c.release}
		}
		if c.corrupt.Load() && strings.Contains(res.Request.URL.Path, "/blobs/") {
			res.Body = &flipFirst{ReadCloser: res.Body}
		}
		return nil
	}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "other"
		switch {
		case strings.Contains(r.URL.Path, "/manifests/"):
			kind = "manifests"
		case strings.Contains(r.URL.Path, "/blobs/"):
			kind = "blobs"
		}
		c.mu.Lock()
		c.counts[r.Method+" "+kind]++
		c.paths = append(c.paths, r.URL.Path)
		fmt.Fprintf(c.log, "%s %s %s\n", time.Now().Format(time.RFC3339Nano), r.Method, r.URL.Path)
		c.mu.Unlock()
		if d := time.Duration(c.delay.Load()); d > 0 && strings.HasPrefix(r.URL.Path, "/v2/") {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if s := c.status.Load(); s != 0 && strings.HasPrefix(r.URL.Path, "/v2/") {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(int(s))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { c.srv.Close(); logf.Close() })
	return c
}

func (c *upstreamCounter) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key]
}

// slowBody hands out a blob's bytes at a bounded pace, so that concurrent
// pulls overlap the download.
type slowBody struct {
	io.ReadCloser
	per  int64
	by   time.Duration
	read int64
}

func (s *slowBody) Read(p []byte) (int, error) {
	if int64(len(p)) > s.per {
		p = p[:s.per]
	}
	n, err := s.ReadCloser.Read(p)
	s.read += int64(n)
	time.Sleep(s.by)
	return n, err
}

// pausingBody hands out left bytes, then waits for release.
type pausingBody struct {
	io.ReadCloser
	left    int64
	release chan struct{}
}

func (p *pausingBody) Read(b []byte) (int, error) {
	if p.left <= 0 {
		<-p.release
		return p.ReadCloser.Read(b)
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.ReadCloser.Read(b)
	p.left -= int64(n)
	return n, err
}

// flipFirst changes a body's first byte.
type flipFirst struct {
	io.ReadCloser
	done bool
}

func (f *flipFirst) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if n > 0 && !f.done {
		p[0] ^= 0xff
		f.done = true
	}
	return n, err
}

// proxyConfig is a token-auth wharf.yml whose "up" prefix pulls through
// upstream as test (a pull-only account there): locally, admin may do
// anything and puller may only pull.
func proxyConfig(t *testing.T, upstreamURL, ttl string, more ...string) string {
	t.Helper()
	pwFile := writeTestFile(t, t.TempDir(), "upstream.pw", testPassword+"\n", 0o600)
	return mirrorConfig(t, fmt.Sprintf("      url: %s\n      username: test\n      password_file: %s\n      ttl: %s\n%s",
		upstreamURL, pwFile, ttl, strings.Join(more, "")))
}

// mirrorConfig is proxyConfig with the "up" upstream's keys given whole
// (indented under its list item).
func mirrorConfig(t *testing.T, upstream string) string {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	return writeConfig(t, t.TempDir(), fmt.Sprintf(`auth: token
metrics: {enabled: true}
users:
  admin: {password: %q}
  puller: {password: %q}
acl:
  - match: {account: admin}
    actions: ["*"]
  - match: {account: puller}
    actions: [pull]
proxy:
  upstreams:
    - prefix: up
%s`, hash(adminPassword), hash("puller-pw-3"), upstream))
}

var (
	proxyAdmin  = remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})
	proxyPuller = remote.WithAuth(&authn.Basic{Username: "puller", Password: "puller-pw-3"})
)

// pushRandomAsAdmin pushes a random image of layers × size bytes to ref as admin.
func pushRandomAsAdmin(t *testing.T, ref string, size int64, layers int64) v1.Image {
	t.Helper()
	return pushRandomWith(t, ref, size, layers, proxyAdmin)
}

// pushRandomWith pushes a random image of layers × size bytes to ref with opts.
func pushRandomWith(t *testing.T, ref string, size int64, layers int64, opts ...remote.Option) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return img
}

// pullValidate pulls ref with opts and checks every byte against its digest.
func pullValidate(t *testing.T, ref string, opts ...remote.Option) v1.Image {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, opts...)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return img
}

// proxySetup starts an upstream Wharf with token auth holding a random
// image of layers × size bytes at team/<repo>:1, a counter in front of
// it, and a mirror Wharf pulling it through under up/ with ttl.
func proxySetup(t *testing.T, repo string, size, layers int64, ttl string, slowPer int64, slowBy time.Duration) (up *harness.Wharf, counter *upstreamCounter, img v1.Image, mirror *harness.Wharf) {
	t.Helper()
	up = startTokenWharf(t)
	counter = startUpstreamCounter(t, up.URL(), slowPer, slowBy)
	img = pushRandomAsAdmin(t, up.Addr()+"/team/"+repo+":1", size, layers)
	mirror = startWharf(t, "--config", proxyConfig(t, counter.srv.URL, ttl), "--auth", "token")
	return up, counter, img, mirror
}

// doAuth sends one request to w with a token for scope, got as user.
func doAuth(t *testing.T, method string, w *harness.Wharf, path, user, password, scope string) response {
	t.Helper()
	tok := fetchToken(t, w, user, password, scope)
	return do(t, method, w.URL()+path, nil, "Authorization", "Bearer "+tok,
		"Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
}

func fetchToken(t *testing.T, w *harness.Wharf, user, password, scope string) string {
	t.Helper()
	tok, _ := tokenFor(t, w.URL()+"/auth/token", "wharf", scope, user, password)
	return tok
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// pushBusybox pushes a runnable busybox image (Docker media types,
// linux/amd64) to ref as admin and returns its digest.
func pushBusybox(t *testing.T, ref string) v1.Hash {
	t.Helper()
	layer, err := tarball.LayerFromFile(busyboxRootfs(t))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Cmd = []string{"/bin/sh"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	if err := remote.Write(r, img, proxyAdmin); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, _ := img.Digest()
	return d
}

// startBusyboxMirror starts an upstream Wharf with token auth holding
// library/busybox:latest behind a counting front, and a Wharf that mirrors
// it twice: as the mirror of names without a prefix (Docker Hub's, for
// registry-mirrors and hosts.toml) and under the prefix hub/, both with
// a TTL of 1 s. It returns the upstream, its counter, the mirror and the
// image's digest.
func startBusyboxMirror(t *testing.T) (*harness.Wharf, *upstreamCounter, *harness.Wharf, v1.Hash) {
	t.Helper()
	up := startTokenWharf(t)
	want := pushBusybox(t, up.Addr()+"/library/busybox:latest")
	counter := startUpstreamCounter(t, up.URL(), 0, 0)
	pwFile := writeTestFile(t, t.TempDir(), "upstream.pw", testPassword, 0o600)
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(`proxy:
  upstreams:
    - mirror: true
      url: %[1]s
      username: test
      password_file: %[2]s
      ttl: 1s
    - prefix: hub
      url: %[1]s
      username: test
      password_file: %[2]s
      ttl: 1s
`, counter.srv.URL, pwFile))
	return up, counter, startWharf(t, "--config", cfg), want
}
