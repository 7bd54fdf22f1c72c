package registry

import (
	"sync"

	"github.com/opencontainers/go-digest"
)

// maxCachedLinks bounds the blob-link cache (a hundred bytes or so each);
// past it, the cache starts over.
const maxCachedLinks = 50_000

// linkCache remembers which blobs are linked into which repositories, and
// their sizes, for one change generation of the database (the store's
// ChangeGeneration, on SQLite): while nothing is committed, by this
// process or any other, no link can appear or go, so a blob HEAD or GET
// needs no read of the database. The first read after any commit empties
// it. Without a generation (PostgreSQL, MySQL) it is never used.
type linkCache struct {
	mu    sync.Mutex
	gen   uint64 // the generation of every entry; 0: none yet
	sizes map[linkKey]int64
}

type linkKey struct {
	repo string
	dgst digest.Digest
}

// get returns the size of dgst in repo if it was read at generation gen.
func (c *linkCache) get(repo string, dgst digest.Digest, gen uint64) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == 0 || gen != c.gen {
		return 0, false
	}
	size, ok := c.sizes[linkKey{repo, dgst}]
	return size, ok
}

// put records the size of dgst in repo, read after generation gen was. A
// newer generation empties the cache; a read at an older one than the
// cache's is dropped (generations only grow).
func (c *linkCache) put(repo string, dgst digest.Digest, gen uint64, size int64) {
	if gen == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.gen:
		return
	case gen > c.gen || len(c.sizes) >= maxCachedLinks:
		c.gen = gen
		c.sizes = make(map[linkKey]int64)
	}
	c.sizes[linkKey{repo, dgst}] = size
}
