package ldap

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// conn is a pooled connection and who it is bound as.
type conn struct {
	l *ldap.Conn
	// bound is the DN the connection is authenticated as; "" is
	// anonymous (a fresh connection, or one after a failed bind: RFC 4511
	// makes the connection anonymous then).
	bound string
	// reused: it came from the idle list, so it may have died while idle.
	reused bool
	// broken: an operation failed in a way that leaves the connection
	// unusable (network error, timeout, a reply that does not parse).
	broken bool
}

// bind binds as dn. A refusal by the server leaves the connection usable
// and anonymous; any other failure breaks it.
func (c *conn) bind(dn, password string) error {
	if password == "" {
		// Never an unauthenticated bind: directories accept a DN with no
		// password as "anonymous", which would pass for a login.
		return errors.New("ldap: refusing to bind with an empty password")
	}
	err := c.l.Bind(dn, password)
	switch {
	case err == nil:
		c.bound = dn
	case isServerResult(err):
		c.bound = ""
	default:
		c.broken = true
	}
	return err
}

// unbindToAnonymous makes the connection anonymous again with an anonymous
// bind (empty name and password).
func (c *conn) unbindToAnonymous() error {
	err := c.l.UnauthenticatedBind("")
	if err == nil {
		c.bound = ""
	} else if !isServerResult(err) {
		c.broken = true
	}
	return err
}

func (c *conn) search(req *ldap.SearchRequest) (*ldap.SearchResult, error) {
	res, err := c.l.Search(req)
	if err != nil && !isServerResult(err) {
		c.broken = true
	}
	return res, err
}

// isServerResult reports whether err is an LDAP result the server sent
// (invalid credentials, no such object, …), after which the connection is
// still good; go-ldap's own codes (network, timeout, parse) start at 200.
func isServerResult(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode < ldap.ErrorNetwork
}

// pool holds at most size connections, in use or idle.
type pool struct {
	dial  func(context.Context) (*ldap.Conn, error)
	slots chan struct{} // one token per connection in use
	idle  chan *conn

	mu     sync.Mutex
	closed bool
}

func newPool(size int, dial func(context.Context) (*ldap.Conn, error)) *pool {
	return &pool{dial: dial, slots: make(chan struct{}, size), idle: make(chan *conn, size)}
}

var errPoolClosed = errors.New("ldap: authenticator closed")

// get returns an idle connection or a new one, waiting for a free slot as
// long as ctx allows.
func (p *pool) get(ctx context.Context) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ldap: %w", err)
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("ldap: waiting for a connection: %w", ctx.Err())
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		<-p.slots
		return nil, errPoolClosed
	}
	for {
		select {
		case c := <-p.idle:
			if c.l.IsClosing() {
				continue // the server hung up while it was idle
			}
			c.reused, c.broken = true, false
			return c, nil
		default:
		}
		l, err := p.dial(ctx)
		if err != nil {
			<-p.slots
			return nil, err
		}
		return &conn{l: l}, nil
	}
}

// put returns c to the pool, or closes it when it is broken.
func (p *pool) put(c *conn) {
	defer func() { <-p.slots }()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if c.broken || closed || c.l.IsClosing() {
		go c.l.Close() // may wait for the server up to the operation timeout
		return
	}
	select {
	case p.idle <- c:
	default: // cannot happen: idle has a place per slot
		go c.l.Close()
	}
}

// close closes the idle connections; those in use are closed when they
// come back.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			c.l.Close()
		default:
			return
		}
	}
}
