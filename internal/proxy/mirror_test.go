package proxy_test

import (
	"bytes"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"wharf/internal/errcode"
	"wharf/internal/metadata"
	"wharf/internal/proxy"
	"wharf/internal/quota"
	"wharf/internal/registry"
	"wharf/internal/storage/filesystem"
	"wharf/internal/upstream"
)

// env is a registry on disk with a pull-through cache in front of a real
// registry (go-containerregistry's, on loopback).
type env struct {
	t     *testing.T
	reg   *registry.Registry
	meta  *metadata.Store
	cache *proxy.Cache
	up    string // the upstream's host:port
}

func newEnv(t *testing.T, prefix string) *env {
	return newEnvQuota(t, prefix, nil)
}

// newEnvQuota is newEnv with quotas over the registry.
func newEnvQuota(t *testing.T, prefix string, rules []quota.Rule) *env {
	t.Helper()
	dir := t.TempDir()
	lf, err := os.Create(filepath.Join(dir, "upstream.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(lf, "", log.LstdFlags))))
	t.Cleanup(func() { srv.Close(); lf.Close() })
	lg := slog.New(slog.DiscardHandler)
	reg, meta := newRegistry(t, dir, lg, func(meta *metadata.Store, opts *registry.Options) {
		if q := quota.New(meta, lg, rules); q != nil {
			opts.Admission = q
		}
	})
	client, err := upstream.New(upstream.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := proxy.New(reg, lg, []proxy.Upstream{{Prefix: prefix, Client: client, TTL: 0}}, proxy.Options{SpoolDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, reg: reg, meta: meta, cache: c, up: strings.TrimPrefix(srv.URL, "http://")}
}

// newRegistry is a registry on disk in dir; tune, when set, adjusts its
// options.
func newRegistry(t *testing.T, dir string, lg *slog.Logger, tune func(*metadata.Store, *registry.Options)) (*registry.Registry, *metadata.Store) {
	t.Helper()
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(dir, "wharf.db"), lg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	opts := registry.Options{}
	if tune != nil {
		tune(meta, &opts)
	}
	return registry.New(blobs, meta, lg, opts), meta
}

// upstreamImage pushes a random image to the upstream as repo:tag and
// returns its manifest digest.
func (e *env) upstreamImage(repo, tag string) digest.Digest {
	e.t.Helper()
	return e.upstreamImageSized(repo, tag, 1024)
}

func (e *env) upstreamImageSized(repo, tag string, size int64) digest.Digest {
	e.t.Helper()
	img, err := random.Image(size, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	ref, err := name.ParseReference(e.up+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(e.t.Context())); err != nil {
		e.t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		e.t.Fatal(err)
	}
	return digest.Digest(d.String())
}

// push stores an image in repo:tag as a client's push does: blobs through
// uploads, then the manifest.
func (e *env) push(repo, tag string) digest.Digest {
	e.t.Helper()
	res, err := e.reg.PutManifest(e.t.Context(), repo, tag, "application/vnd.oci.image.manifest.v1+json", e.pushBlobs(repo, tag), nil)
	if err != nil {
		e.t.Fatalf("push %s:%s: %v", repo, tag, err)
	}
	return res.Digest
}

// pushBlobs uploads an image's blobs into repo and returns its manifest.
func (e *env) pushBlobs(repo, tag string) []byte {
	e.t.Helper()
	ctx := e.t.Context()
	config, layer := []byte(`{"architecture":"amd64","os":"linux"}`), []byte("local layer of "+repo+":"+tag)
	for _, b := range [][]byte{config, layer} {
		u, err := e.reg.StartUpload(ctx, repo)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.reg.FinishUpload(ctx, repo, u.ID, digest.FromBytes(b), 0, int64(len(b)), bytes.NewReader(b)); err != nil {
			e.t.Fatalf("push a blob into %s: %v", repo, err)
		}
	}
	return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digest.FromBytes(config).String() + `","size":` + strconv.Itoa(len(config)) + `},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + digest.FromBytes(layer).String() + `","size":` + strconv.Itoa(len(layer)) + `}]}`)
}

// TestMirrorOwnsOnlyWhatItServes: next to a mirror (an upstream without a
// prefix), a repository pushed locally stays local — pulls never go
// upstream for it, pushes work — while a name the mirror filled is the
// upstream's, and a name never seen goes upstream and is claimed only when
// something was fetched.
func TestMirrorOwnsOnlyWhatItServes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	ctx := t.Context()
	busybox := e.upstreamImage("library/busybox", "1")
	upstreamApp := e.upstreamImage("myteam/app", "1") // a namesake the local repository must never show

	// A name never seen: the pull goes upstream and claims it.
	if _, err := e.cache.Manifest(ctx, "library/busybox", "1"); err != nil {
		t.Fatalf("pull library/busybox:1 through the mirror: %v", err)
	}
	if got, err := e.reg.LocalManifest(ctx, "library/busybox", "1"); err != nil || got != busybox {
		t.Fatalf("library/busybox:1 cached as %s, %v; want %s", got, err, busybox)
	}
	// A push makes a name local.
	local := e.push("myteam/app", "1")
	fetches := e.cache.Stats().ManifestFetches
	if _, err := e.cache.Manifest(ctx, "myteam/app", "1"); err != nil {
		t.Fatalf("pull the local myteam/app:1: %v", err)
	}
	if got, err := e.reg.LocalManifest(ctx, "myteam/app", "1"); err != nil || got != local {
		t.Errorf("myteam/app:1 is %s, %v; want the pushed %s, not the upstream's %s", got, err, local, upstreamApp)
	}
	if n := e.cache.Stats().ManifestFetches; n != fetches {
		t.Errorf("a pull of a local repository fetched %d manifests upstream; want none", n-fetches)
	}
	if s, err := e.cache.Blob(ctx, "myteam/app", digest.FromString("nothing"), true); s != nil || err != nil {
		t.Errorf("a blob pull of a local repository went upstream: %v, %v", s, err)
	}
	// A name the upstream does not have stays free for a push.
	_, err := e.cache.Manifest(ctx, "other/new", "1")
	var ec *errcode.Error
	if !errors.As(err, &ec) || ec.Code != errcode.ManifestUnknown {
		t.Errorf("pull of a name the upstream lacks: %v; want MANIFEST_UNKNOWN", err)
	}
	// Nor does a blob pull claim a name: clients read a manifest first.
	if s, err := e.cache.Blob(ctx, "other/blobonly", digest.FromString("nothing"), true); s != nil || err != nil {
		t.Errorf("a blob pull of a name never seen went upstream: %v, %v", s, err)
	}
	for _, tc := range []struct {
		name  string
		owned bool
	}{
		{"library/busybox", true},
		{"myteam/app", false},
		{"other/new", false},
		{"other/blobonly", false},
	} {
		host, owned, err := e.cache.Owner(ctx, tc.name)
		if err != nil || owned != tc.owned || (owned && host != e.up) {
			t.Errorf("Owner(%s) = %q, %v, %v; want owned %v by %s", tc.name, host, owned, err, tc.owned, e.up)
		}
	}
	// A push that got past the request's check before the mirror claimed
	// the name still cannot tag content there.
	_, err = e.reg.PutManifest(ctx, "library/busybox", "mine", "application/vnd.oci.image.manifest.v1+json", e.pushBlobs("library/busybox", "mine"), nil)
	if !errors.Is(err, registry.ErrDenied) || !strings.Contains(err.Error(), "pull-through cache of "+e.up) {
		t.Errorf("a push into the cached library/busybox: %v; want it denied, naming %s", err, e.up)
	}
	// A local repository the cache's claim leaves alone.
	if ok, err := e.reg.ClaimCached(ctx, "myteam/app", e.up, false); ok || err != nil {
		t.Errorf("the mirror claimed the local myteam/app: %v, %v", ok, err)
	}
}

// TestPrefixOwnsEveryName: under a prefix every name is the upstream's,
// pushed before or not, as before mirrors learnt to share names.
func TestPrefixOwnsEveryName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "up")
	e.upstreamImage("team/app", "1")
	e.push("up/team/app", "0") // stored before the prefix was configured
	if _, err := e.cache.Manifest(t.Context(), "up/team/app", "1"); err != nil {
		t.Fatalf("pull up/team/app:1: %v", err)
	}
	for _, n := range []string{"up/team/app", "up/never/seen"} {
		if _, owned, err := e.cache.Owner(t.Context(), n); !owned || err != nil {
			t.Errorf("Owner(%s) = %v, %v; want the upstream's", n, owned, err)
		}
	}
}

// TestQuotaCountsCachedContent: cached content counts in a quota's usage
// and is never refused (a full quota must not fail pulls), and the next
// push is weighed against it at once, not after the kept usage expires.
func TestQuotaCountsCachedContent(t *testing.T) {
	t.Parallel()
	e := newEnvQuota(t, "", []quota.Rule{{Pattern: "library/*", Bytes: 16 << 10,
		Match: func(repo string) bool { return strings.HasPrefix(repo, "library/") }}})
	ctx := t.Context()
	e.push("library/local", "1") // the quota reads and keeps the group's usage
	e.upstreamImageSized("library/busybox", "1", 64<<10)
	if _, err := e.cache.Manifest(ctx, "library/busybox", "1"); err != nil {
		t.Fatalf("a pull through the mirror over the quota: %v; want it served", err)
	}
	m, err := e.reg.GetManifest(ctx, "library/busybox", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range m.Refs {
		s, err := e.cache.Blob(ctx, "library/busybox", ref.Digest, true)
		if err != nil || s == nil {
			t.Fatalf("pull blob %s over the quota: %v, %v; want it streamed", ref.Digest, s, err)
		}
		if _, err := io.Copy(io.Discard, s.Body); err != nil {
			t.Fatal(err)
		}
		s.Body.Close()
	}
	used, err := e.meta.Usage(ctx, []string{"library/busybox", "library/local"})
	if err != nil || used < 64<<10 {
		t.Fatalf("usage of library/* = %d, %v; want the cached 64 KiB counted", used, err)
	}
	_, err = e.reg.PutManifest(ctx, "library/local", "2", "application/vnd.oci.image.manifest.v1+json", e.pushBlobs("library/local", "2"), nil)
	if !errors.Is(err, registry.ErrDenied) {
		t.Errorf("a push once cached content filled the quota: %v; want it denied", err)
	}
}
