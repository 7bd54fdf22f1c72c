package token

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// maxVerified bounds the verified-token cache: a few hundred bytes each,
// a few megabytes in all. Past it, the expired entries go, and when none
// has expired the whole cache starts over: a flood of distinct tokens
// (each of which had to verify to get in) costs their verification again,
// never memory.
const maxVerified = 10_000

// verified remembers the tokens a Verifier accepted, by the SHA-256 of
// the compact JWS, until they expire: a client sends one token with every
// request of a pull, and the signature, the key lookup and the JSON of
// the claims are the same each time. Only accepted tokens are kept, so a
// forged or refused token is checked in full every time. The cache lives
// and dies with its Verifier: a key that leaves the trusted set (a new
// Verifier) takes what it vouched for with it.
type verified struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]*Claims
}

// get returns a copy of the claims of raw if it was accepted and is still
// inside its validity window at now, with leeway; nil otherwise.
func (c *verified) get(raw string, now time.Time, leeway time.Duration) *Claims {
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	cl, ok := c.m[k]
	c.mu.Unlock()
	if !ok || !inWindow(cl, now, leeway) {
		return nil
	}
	return cl.clone()
}

// put remembers the claims of an accepted raw.
func (c *verified) put(raw string, cl *Claims, now time.Time, leeway time.Duration) {
	k := sha256.Sum256([]byte(raw))
	cp := cl.clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[sha256.Size]byte]*Claims)
	}
	if len(c.m) >= maxVerified {
		for k, old := range c.m {
			if !inWindow(old, now, leeway) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxVerified {
			clear(c.m)
		}
	}
	c.m[k] = cp
}

// inWindow repeats the time checks of checkClaims for a token accepted
// earlier: it must not have expired since, and a clock set back must not
// find it before its nbf or iat.
func inWindow(c *Claims, now time.Time, leeway time.Duration) bool {
	if now.After(c.Expiry.Add(leeway)) {
		return false
	}
	if !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore) {
		return false
	}
	return c.IssuedAt.IsZero() || !now.Add(leeway).Before(c.IssuedAt)
}

// clone copies c deeply enough that the caller of Verify may change what
// it gets without changing what the cache answers next.
func (c *Claims) clone() *Claims {
	cp := *c
	cp.Audience = slices.Clone(c.Audience)
	cp.Access = slices.Clone(c.Access)
	for i := range cp.Access {
		cp.Access[i].Actions = slices.Clone(cp.Access[i].Actions)
	}
	return &cp
}
