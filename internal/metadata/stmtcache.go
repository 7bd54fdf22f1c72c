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
	var drop *sql.Stmt
	if prev, ok := c.m[q]; ok { // prepared meanwhile by another request
		drop, st = st, prev
	} else if c.closed || len(c.m) >= maxStmts {
		drop, st = st, nil
	} else {
		c.m[q] = st
	}
	c.mu.Unlock()
	// Never under c.mu: closing a statement waits for the connections it
	// was prepared on, and a transaction holding one of them (and row locks
	// other transactions wait for) may be waiting in lookup.
	if drop != nil {
		_ = drop.Close()
	}
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	m := c.m
	c.m = make(map[string]*sql.Stmt)
	c.mu.Unlock()
	for _, st := range m { // outside c.mu, as in get
		_ = st.Close()
	}
}
