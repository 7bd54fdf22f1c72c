package registry

import (
	"container/list"
	"sync"

	"wharf/internal/metadata"
)

// Bounds of the manifest cache: at most maxCachedManifests tags, holding at
// most maxCachedManifestBytes of payloads (the least recently served tag
// goes first); a payload larger than maxCachedManifestSize is never kept,
// so that a few large indexes cannot push out every image.
const (
	maxCachedManifests     = 20_000
	maxCachedManifestBytes = 32 << 20
	maxCachedManifestSize  = 256 << 10
)

// manifestCache keeps what a manifest GET or HEAD by tag served. On
// SQLite, an entry holds while nothing was committed to the database
// since it was read (the store's ChangeGeneration), and a pull by tag then
// reads nothing. Elsewhere, an entry holds for the RepoVersion it was read
// at, and a pull by tag reads one indexed row of the database instead of
// joining three tables and reading the payload: every change to
// the repository's tags, by this process, another replica or the CLI,
// moves that version in the database, so the next request misses and
// reads again. A manifest deleted by digest takes its tags with it (and
// moves the version); an untagged one is not in here, since only lookups
// by tag are.
type manifestCache struct {
	mu    sync.Mutex
	bytes int
	lru   *list.List // of *manifestEntry, most recently served first
	byKey map[manifestKey]*list.Element
}

type manifestKey struct{ repo, tag string }

type manifestEntry struct {
	key manifestKey
	ver metadata.RepoVersion
	// gen is the change generation read before the entry was; 0 without
	// one.
	gen uint64
	m   metadata.Manifest // Payload is nil when it was read for a HEAD
}

func newManifestCache() *manifestCache {
	return &manifestCache{lru: list.New(), byKey: make(map[manifestKey]*list.Element)}
}

// current returns a copy of what tag named in repo when nothing was
// committed since the change generation gen (not 0) was read, or nil;
// with payload, an entry read for a HEAD does not do.
func (c *manifestCache) current(repo, tag string, gen uint64, payload bool) *metadata.Manifest {
	return c.find(repo, tag, payload, func(e *manifestEntry) bool { return gen != 0 && e.gen == gen })
}

// get returns a copy of what tag named in repo at ver, or nil (without a
// change generation: PostgreSQL, MySQL).
func (c *manifestCache) get(repo, tag string, ver metadata.RepoVersion, payload bool) *metadata.Manifest {
	return c.find(repo, tag, payload, func(e *manifestEntry) bool { return e.ver == ver })
}

func (c *manifestCache) find(repo, tag string, payload bool, valid func(*manifestEntry) bool) *metadata.Manifest {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[manifestKey{repo, tag}]
	if !ok {
		return nil
	}
	e := el.Value.(*manifestEntry)
	if (payload && e.m.Payload == nil) || !valid(e) {
		return nil
	}
	c.lru.MoveToFront(el)
	m := e.m
	return &m
}

// put keeps m as what tag names in repo at ver, read after ver was, which
// was read after the change generation gen. An
// entry read at another version is replaced: a version read later is not
// always larger (a repository created again starts over), and the lookup
// that follows a version is never older than it.
func (c *manifestCache) put(repo, tag string, ver metadata.RepoVersion, gen uint64, m *metadata.Manifest) {
	if len(m.Payload) > maxCachedManifestSize {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := manifestKey{repo, tag}
	if el, ok := c.byKey[k]; ok {
		c.remove(el)
	}
	c.byKey[k] = c.lru.PushFront(&manifestEntry{key: k, ver: ver, gen: gen, m: *m})
	c.bytes += len(m.Payload)
	for (c.bytes > maxCachedManifestBytes || c.lru.Len() > maxCachedManifests) && c.lru.Len() > 1 {
		c.remove(c.lru.Back())
	}
}

func (c *manifestCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*manifestEntry)
	delete(c.byKey, e.key)
	c.bytes -= len(e.m.Payload)
}
