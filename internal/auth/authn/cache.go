package authn

import (
	"container/list"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"wharf/internal/auth"
)

// CacheOptions configure a Cache; zero values take the defaults.
type CacheOptions struct {
	// TTL is how long an accepted login is remembered (default 5 minutes).
	// It is also how long a password changed or removed in the backend
	// keeps working, unless the cache is purged.
	TTL time.Duration
	// MaxEntries bounds memory (default 10000); the least recently used
	// entry goes first.
	MaxEntries int
	// Now is the clock (default time.Now), for tests.
	Now func() time.Time
}

// Cache remembers accepted credentials for a short time, so that a docker
// client asking for a token per layer costs one bcrypt comparison, not
// dozens. Only Accepted answers are kept: failures always reach the backend
// (and the rate limiter). Concurrent checks of the same credentials share
// one backend call.
//
// Neither the password nor an unkeyed hash of it is stored: entries are
// keyed by HMAC-SHA256 under a random key made per process, so a memory
// dump does not give an offline dictionary attack on the passwords.
type Cache struct {
	next Authenticator
	ttl  time.Duration
	max  int
	now  func() time.Time
	key  []byte

	mu       sync.Mutex
	entries  map[cacheKey]*list.Element // of *cacheEntry
	lru      list.List                  // front: most recently used
	inflight map[cacheKey]*flight
	gen      uint64 // bumped by Purge; a flight that started before does not store
}

type cacheKey [sha256.Size]byte

type cacheEntry struct {
	key     cacheKey
	user    string
	labels  auth.Labels
	expires time.Time
}

type flight struct {
	gen    uint64
	done   chan struct{}
	res    Result
	labels auth.Labels
	err    error
}

var _ Authenticator = (*Cache)(nil)

// NewCache wraps next.
func NewCache(next Authenticator, opts CacheOptions) *Cache {
	c := &Cache{
		next:     next,
		ttl:      opts.TTL,
		max:      opts.MaxEntries,
		now:      opts.Now,
		key:      make([]byte, 32),
		entries:  map[cacheKey]*list.Element{},
		inflight: map[cacheKey]*flight{},
	}
	if c.ttl <= 0 {
		c.ttl = 5 * time.Minute
	}
	if c.max <= 0 {
		c.max = 10000
	}
	if c.now == nil {
		c.now = time.Now
	}
	rand.Read(c.key) // never fails (crypto/rand panics rather than return an error)
	return c
}

// keyOf MACs the user's length, the user and the password: with the length
// first, ("a\x00b", "c") and ("a", "b\x00c") cannot collide.
func (c *Cache) keyOf(user string, password auth.Secret) cacheKey {
	m := hmac.New(sha256.New, c.key)
	m.Write(binary.AppendUvarint(nil, uint64(len(user))))
	m.Write([]byte(user))
	m.Write([]byte(password.Reveal()))
	var k cacheKey
	m.Sum(k[:0])
	return k
}

// Authenticate implements Authenticator.
func (c *Cache) Authenticate(ctx context.Context, user string, password auth.Secret) (Result, auth.Labels, error) {
	k := c.keyOf(user, password)
	c.mu.Lock()
	if el, ok := c.entries[k]; ok {
		e := el.Value.(*cacheEntry)
		if e.user == user && c.now().Before(e.expires) {
			c.lru.MoveToFront(el)
			labels := CloneLabels(e.labels)
			c.mu.Unlock()
			return Accepted, labels, nil
		}
		c.remove(el)
	}
	f, joined := c.inflight[k]
	if !joined {
		f = &flight{gen: c.gen, done: make(chan struct{})}
		c.inflight[k] = f
	}
	c.mu.Unlock()

	if joined {
		select {
		case <-f.done:
			if f.err != nil && ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				// The first caller gave up; that is no answer for this one.
				return c.next.Authenticate(ctx, user, password)
			}
			return f.res, CloneLabels(f.labels), f.err
		case <-ctx.Done():
			return WrongPassword, nil, ctx.Err()
		}
	}

	f.res, f.labels, f.err = c.next.Authenticate(ctx, user, password)
	c.mu.Lock()
	delete(c.inflight, k)
	if f.err == nil && f.res == Accepted && f.gen == c.gen {
		c.store(k, user, f.labels)
	}
	c.mu.Unlock()
	close(f.done)
	return f.res, CloneLabels(f.labels), f.err
}

func (c *Cache) store(k cacheKey, user string, labels auth.Labels) {
	if el, ok := c.entries[k]; ok {
		c.remove(el)
	}
	for c.lru.Len() >= c.max {
		c.remove(c.lru.Back())
	}
	e := &cacheEntry{key: k, user: user, labels: CloneLabels(labels), expires: c.now().Add(c.ttl)}
	c.entries[k] = c.lru.PushFront(e)
}

func (c *Cache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).key)
	c.lru.Remove(el)
}

// Purge forgets every entry, e.g. after users or passwords changed.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.lru.Init()
	c.gen++
}

// Len is the number of remembered logins, expired ones included until they
// are looked up or pushed out.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Name implements Authenticator.
func (c *Cache) Name() string { return c.next.Name() + " (cached)" }
