package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Timing of the lease that serialises the requests of one upload session
// across replicas.
const (
	uploadLeaseTTL  = 30 * time.Second // renewed every third of it
	uploadLeasePoll = 50 * time.Millisecond
)

// errUploadLeaseLost ends a request whose upload lease expired (the
// database was unreachable longer than its TTL): another replica may
// write the session now, so this one must stop.
var errUploadLeaseLost = errors.New("registry: upload: this server lost the upload's lock to another replica; retry")

// lockUpload serialises the requests of upload id, so that two PATCHes
// cannot interleave their bytes: with a mutex in this process and, when
// Options.Replicas says other servers share the database, a lease in it
// ("upload:<id>") that the request holds until it ends. A request waits
// for the one before it, as long as its context allows. The returned
// context ends if the lease is lost.
func (r *Registry) lockUpload(ctx context.Context, id string) (context.Context, func(), error) {
	unlock := r.uploadLocks.lock(id)
	if !r.opts.Replicas {
		return ctx, unlock, nil
	}
	name, holder := "upload:"+id, newHolder()
	for {
		taken, err := r.meta.TryLease(ctx, name, holder, uploadLeaseTTL)
		if err != nil {
			unlock()
			return nil, nil, fmt.Errorf("registry: upload: %w", err)
		}
		if taken {
			break
		}
		select {
		case <-ctx.Done():
			unlock()
			return nil, nil, ctx.Err()
		case <-time.After(uploadLeasePoll):
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		r.meta.KeepLease(ctx, name, holder, uploadLeaseTTL, func(err error) {
			cancel(fmt.Errorf("%w (%w)", errUploadLeaseLost, err))
		})
	}()
	return ctx, func() {
		cancel(nil)
		<-renewed
		// A fresh context: the request's may have ended, the row must go.
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer dcancel()
		if err := r.meta.DropLease(dctx, name, holder); err != nil {
			r.log.WarnContext(dctx, "upload lock not released; it expires by itself", "upload", id, "err", err)
		}
		unlock()
	}, nil
}

// newHolder names one request in an upload's lease.
func newHolder() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "request " + hex.EncodeToString(b[:])
}
