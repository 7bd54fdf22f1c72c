package events

import (
	"net/netip"
	"time"

	"github.com/opencontainers/go-digest"
)

// Action is what happened to a target.
type Action string

// The actions, named as distribution's notifications name them.
const (
	// Push: a manifest stored (under a tag or by digest) or a blob upload
	// completed.
	Push Action = "push"
	// Pull: a manifest or a blob served by GET (a HEAD checks, it does not
	// pull).
	Pull Action = "pull"
	// Mount: a blob linked from another repository without an upload.
	Mount Action = "mount"
	// Delete: a manifest, a tag or a blob removed from a repository.
	Delete Action = "delete"
)

// Event is one completed operation on a repository's content.
type Event struct {
	Time   time.Time
	Action Action

	// Repository is the repository's name.
	Repository string
	// Digest is the manifest's or blob's digest; empty for the delete of a
	// tag named without its digest.
	Digest digest.Digest
	// MediaType is a manifest's media type; empty for blobs.
	MediaType string
	// Size is the manifest's or blob's length in bytes (0 for deletes).
	Size int64
	// Tag is the tag a manifest was pushed, pulled or deleted by; empty
	// when the client named a digest.
	Tag string
	// From is a mount's source repository.
	From string
	// Payload is a manifest push's or pull's bytes, shared with the
	// request: a sink reads it during Record only, never changes it, and
	// keeps no reference to it (notify lists the manifest's references
	// from it).
	Payload []byte
	// Redirected marks a blob pull answered with a redirect to the store:
	// the store sent Size bytes to the client, the registry none.
	Redirected bool

	// Actor is the account that was granted the operation; empty for an
	// anonymous client or a registry without authentication.
	Actor string
	// Addr is the client's address (behind trusted proxies, the one they
	// report); zero when unknown. It stays an address rather than a
	// string so that the request's path formats nothing: a sink that
	// writes it formats it off that path (AddrString).
	Addr netip.Addr
	// RequestID is the id in the request's X-Request-Id and log lines,
	// Host the registry's host as the client named it, UserAgent the
	// client's User-Agent as sent (a sink shortens it if it logs it).
	RequestID, Host, UserAgent string
}

// AddrString is Addr as text, "" when it is unknown.
func (e *Event) AddrString() string {
	if !e.Addr.IsValid() {
		return ""
	}
	return e.Addr.String()
}

// Manifest reports whether the event's target is a manifest (it has a media
// type) rather than a blob.
func (e *Event) Manifest() bool { return e.MediaType != "" }

// Sink receives events. Record is called on the request's goroutine: it must
// return at once (queue the event; never block or do I/O) and must not keep
// a pointer to e after it returns (the caller reuses the Event).
type Sink interface {
	Record(e *Event)
}

// Bus hands every event to each of its sinks in order. A nil or empty Bus
// is valid and records nothing.
type Bus []Sink

// Record implements Sink.
func (b Bus) Record(e *Event) {
	for _, s := range b {
		s.Record(e)
	}
}

// Join returns a Sink for sinks without the nil ones, or nil when none is
// left, so that callers can skip building events altogether.
func Join(sinks ...Sink) Sink {
	var b Bus
	for _, s := range sinks {
		if s != nil {
			b = append(b, s)
		}
	}
	switch len(b) {
	case 0:
		return nil
	case 1:
		return b[0]
	}
	return b
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(e *Event)

// Record implements Sink.
func (f SinkFunc) Record(e *Event) { f(e) }
