package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/registry"
	"wharf/internal/upstream"
)

// Upstream is one registry pulled through.
type Upstream struct {
	// Prefix is the local names' first component(s); "" serves every name
	// no other prefix claims (a mirror).
	Prefix string
	// Client speaks to the upstream.
	Client *upstream.Client
	// TTL is how long a tag is served without asking the upstream again.
	TTL time.Duration
	// DockerHub implies library/ before single-component names, as the
	// Docker daemon does for Docker Hub.
	DockerHub bool
}

// Options tune a Cache.
type Options struct {
	// SpoolDir holds the bytes of blobs being downloaded, which the
	// clients of a download read while it goes on; os.TempDir() when "".
	SpoolDir string
	// IdleTimeout ends a blob download whose upstream sends nothing for
	// this long (default 1 minute).
	IdleTimeout time.Duration
	// StaleRetry is how long a tag served stale is served without asking
	// the failing upstream again (default 10s, at most the TTL): while an
	// upstream times out, pulls do not each wait for it.
	StaleRetry time.Duration
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// Stats count what the cache did, for metrics.
type Stats struct {
	// ManifestFetches and BlobFetches are GETs sent upstream;
	// Revalidations the HEADs of tags older than their TTL.
	ManifestFetches, BlobFetches, Revalidations int64
	// Hits are pulls answered from the cache without asking the upstream.
	Hits int64
	// Stale are answers from the cache because the upstream failed.
	Stale int64
}

// Cache is the pull-through cache over a Registry.
type Cache struct {
	reg  *registry.Registry
	log  *slog.Logger
	ups  []*Upstream // longest prefix first, the mirror last
	opts Options

	// checked says, for each cached tag ("name:tag"), until when it is
	// served without asking the upstream, and with which Warning when the
	// upstream failed the last check. It lives in memory: after a restart
	// the first pull of a tag costs one HEAD.
	checkedMu sync.Mutex
	checked   map[string]check

	manifests flights
	blobsMu   sync.Mutex
	downloads map[string]*download // by repository and digest

	stats struct{ manifests, blobs, revalidations, hits, stale atomic.Int64 }
}

// New returns a cache over reg. log must not be nil.
func New(reg *registry.Registry, log *slog.Logger, ups []Upstream, opts Options) (*Cache, error) {
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StaleRetry <= 0 {
		opts.StaleRetry = 10 * time.Second
	}
	c := &Cache{reg: reg, log: log.With("component", "proxy"), opts: opts,
		checked: map[string]check{}, downloads: map[string]*download{}}
	seen := map[string]bool{}
	for i := range ups {
		u := ups[i]
		u.Prefix = strings.Trim(u.Prefix, "/")
		if seen[u.Prefix] {
			return nil, fmt.Errorf("proxy: two upstreams under prefix %q", u.Prefix)
		}
		if u.Client == nil {
			return nil, fmt.Errorf("proxy: upstream %q has no client", u.Prefix)
		}
		seen[u.Prefix] = true
		c.ups = append(c.ups, &u)
	}
	slices.SortFunc(c.ups, func(a, b *Upstream) int { return len(b.Prefix) - len(a.Prefix) })
	return c, nil
}

// Stats returns the counts so far.
func (c *Cache) Stats() Stats {
	return Stats{ManifestFetches: c.stats.manifests.Load(), BlobFetches: c.stats.blobs.Load(),
		Revalidations: c.stats.revalidations.Load(), Hits: c.stats.hits.Load(), Stale: c.stats.stale.Load()}
}

// Upstreams lists the upstreams with their rate limits, for status.
func (c *Cache) Upstreams() []UpstreamStatus {
	out := make([]UpstreamStatus, 0, len(c.ups))
	for _, u := range c.ups {
		out = append(out, UpstreamStatus{Prefix: u.Prefix, Host: u.Client.Host(), RateLimit: u.Client.RateLimit()})
	}
	return out
}

// UpstreamStatus is one upstream as status reports show it.
type UpstreamStatus struct {
	Prefix    string
	Host      string
	RateLimit upstream.RateLimit
}

// resolve finds the upstream that serves a local repository name, and the
// name there.
func (c *Cache) resolve(name string) (*Upstream, string, bool) {
	for _, u := range c.ups {
		remote := name
		if u.Prefix != "" {
			rest, ok := strings.CutPrefix(name, u.Prefix+"/")
			if !ok {
				continue
			}
			remote = rest
		}
		if u.DockerHub && !strings.Contains(remote, "/") {
			remote = "library/" + remote
		}
		return u, remote, true
	}
	return nil, "", false
}

// Serves reports whether an upstream serves name at all (without asking
// the database whether the mirror's name is local): a cheap first test.
func (c *Cache) Serves(name string) bool {
	_, _, ok := c.resolve(name)
	return ok
}

// Owner names the upstream a local repository is pulled from ("" and
// false when it is an ordinary repository): pushes there are refused. A
// prefix owns every name under it; the mirror only the names it filled
// (see route), so that pushes elsewhere keep working next to it.
func (c *Cache) Owner(ctx context.Context, name string) (string, bool, error) {
	u, _, ok := c.resolve(name)
	if !ok {
		return "", false, nil
	}
	if u.Prefix != "" {
		return u.Client.Host(), true, nil
	}
	o, _, err := c.reg.RepositoryOrigin(ctx, name)
	if err != nil || o != registry.OriginCached {
		return "", false, err
	}
	return u.Client.Host(), true, nil
}

// route finds the upstream a pull of name goes to, as resolve does, and
// for the mirror leaves out the repositories pushed locally: they never go
// upstream. A name the mirror never served and no one pushed goes
// upstream; fresh says so (the cache claims it only once it fetched
// something: see claim).
func (c *Cache) route(ctx context.Context, name string) (u *Upstream, remote string, fresh, ok bool, err error) {
	u, remote, ok = c.resolve(name)
	if !ok || u.Prefix != "" {
		return u, remote, false, ok, nil
	}
	o, _, err := c.reg.RepositoryOrigin(ctx, name)
	if err != nil {
		return nil, "", false, false, err
	}
	switch o {
	case registry.OriginLocal:
		return nil, "", false, false, nil
	case registry.OriginNone:
		return u, remote, true, true, nil
	}
	return u, remote, false, true, nil
}

// errLocal says that a name became a local repository (a push) while the
// cache fetched for it: the cache leaves it alone.
var errLocal = errors.New("proxy: the repository was pushed locally meanwhile")

// claim marks name as the upstream's before the cache stores into it:
// errLocal when the mirror finds a local repository there. A prefix owns
// its names whatever was stored under them.
func (c *Cache) claim(ctx context.Context, u *Upstream, name string) error {
	ok, err := c.reg.ClaimCached(ctx, name, u.Client.Host(), u.Prefix != "")
	if err != nil {
		return err
	}
	if !ok {
		return errLocal
	}
	return nil
}

// check is what the cache knows of a tag's freshness.
type check struct {
	until   time.Time // served from the cache until then
	warning string    // the Warning of a stale answer, "" when fresh
}

func (c *Cache) lastCheck(key string) (check, bool) {
	c.checkedMu.Lock()
	defer c.checkedMu.Unlock()
	ck, ok := c.checked[key]
	return ck, ok && c.opts.Now().Before(ck.until)
}

// markChecked records that a tag was found current (warning "") for ttl,
// or could not be checked.
func (c *Cache) markChecked(key string, ttl time.Duration, warning string) {
	c.checkedMu.Lock()
	defer c.checkedMu.Unlock()
	c.checked[key] = check{until: c.opts.Now().Add(ttl), warning: warning}
}

// flights runs one call per key at a time; the others wait for its result.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	res  Result
	err  error
}

// do runs fn once for concurrent callers with the same key.
func (f *flights) do(ctx context.Context, key string, fn func() (Result, error)) (Result, error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	if fl, ok := f.m[key]; ok {
		f.mu.Unlock()
		select {
		case <-fl.done:
			return fl.res, fl.err
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	fl := &flight{done: make(chan struct{})}
	f.m[key] = fl
	f.mu.Unlock()
	fl.res, fl.err = fn()
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	close(fl.done)
	return fl.res, fl.err
}

// Result says how a pull through the cache was answered.
type Result struct {
	// Warning, when not "", is the Warning header of an answer served
	// from the cache because the upstream failed.
	Warning string
}

// staleWarning is the Warning header of a stale answer (RFC 7234's 110).
func staleWarning(host string, err error) string {
	return fmt.Sprintf(`110 - "stale: %s could not be asked (%s)"`, host, strings.ReplaceAll(clientReason(err), `"`, "'"))
}

// clientReason is shortReason for clients: a credential this server
// cannot read is said without the operator's explanation (key files,
// fingerprints), which the log has.
func clientReason(err error) string {
	if errors.Is(err, upstream.ErrCredentials) {
		return "this server cannot read its credentials for it"
	}
	return shortReason(err)
}

// shortReason is what the upstream answered, without the package prefix.
func shortReason(err error) string {
	return strings.TrimPrefix(err.Error(), "upstream: ")
}

func blobKey(name string, dgst digest.Digest) string { return name + "@" + dgst.String() }
