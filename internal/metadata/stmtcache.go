package metadata

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the statement cache. The store's queries are constants
// (a few dozen); the bound only guards against a query built from data.
const maxStmts = 256

// stmtCache keeps one prepared statement per query text. Preparing (parsing
// and planning) was the largest cost of a manifest GET on SQLite; a
// statement prepared once is re-prepared by database/sql only on
// connections that have not seen it yet.
type stmtCache struct {
	db     *sql.DB
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

// lookup returns the statement for q when it is prepared already.
func (c *stmtCache) lookup(q string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[q]
}

// get returns the statement for q, preparing it on first use, or nil when
// preparing fails or the cache is full. The lock is never held while
// preparing: that takes a connection from the pool, and a transaction
// holding one may be waiting in lookup.
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	if st := c.lookup(q); st != nil {
		return st
	}
	c.mu.RLock()
	full := len(c.m) >= maxStmts
	c.mu.RUnlock()
	if full {
		return nil
	}
	st, err := c.db.PrepareContext(context.WithoutCancel(ctx), q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok { // prepared meanwhile by another request
		_ = st.Close()
		return prev
	}
	if c.closed || len(c.m) >= maxStmts {
		_ = st.Close()
		return nil
	}
	c.m[q] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}
