package ociapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"wharf/internal/edge"
	"wharf/internal/errcode"
	"wharf/internal/gate"
	"wharf/internal/registry"
)

// uploadRetryAfter is the Retry-After, in seconds, of an upload refused
// for want of a slot: long enough for a push's other layers to finish,
// short enough that a client backing off is not idle for long.
const uploadRetryAfter = 2

// uploadSlots caps the upload requests moving bytes at once, over all
// clients and per client. Every such request holds copy buffers (up to
// 3 MiB), so the caps, not the number of connections, bound that memory;
// the per-client cap keeps one account (or, for clients without one, one
// address) from taking every slot.
type uploadSlots struct {
	max, perClient int // 0: no cap
	log            *slog.Logger

	mu       sync.Mutex
	total    int
	byClient map[string]int
	// refused counts refusals; report logs them at most once a minute, so
	// that a flood of uploads does not flood the log.
	refused atomic.Int64
	report  gate.Throttle
}

func newUploadSlots(max, perClient int, log *slog.Logger) *uploadSlots {
	return &uploadSlots{max: max, perClient: perClient, log: log, byClient: map[string]int{},
		report: gate.Throttle{Every: time.Minute}}
}

// acquire takes a slot for client, or answers why it cannot: a 429
// TOOMANYREQUESTS the client retries after a pause. release gives the slot
// back.
func (s *uploadSlots) acquire(ctx context.Context, client string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var key string
	switch {
	case s.max > 0 && s.total >= s.max:
		key = "limits.uploads"
		err = &errcode.Error{Code: errcode.TooManyRequests, RetryAfter: uploadRetryAfter,
			Message: fmt.Sprintf("the registry is receiving %d uploads, as many as it takes at once (limits.uploads); retry in a moment", s.total)}
	case s.perClient > 0 && s.byClient[client] >= s.perClient:
		key = "limits.uploads_per_client"
		err = &errcode.Error{Code: errcode.TooManyRequests, RetryAfter: uploadRetryAfter,
			Message: fmt.Sprintf("this client is sending %d uploads, as many as one client may at once (limits.uploads_per_client); retry when one has finished", s.byClient[client])}
	}
	if err != nil {
		s.refused.Add(1)
		if s.report.Allow(time.Now()) {
			s.log.WarnContext(ctx, "uploads refused with 429: too many at once (logged at most once a minute)",
				"refused", s.refused.Swap(0), "limit", key, "client", client,
				"fix", "if the machine has memory to spare, raise "+key+"; otherwise find the client that floods")
		}
		return nil, err
	}
	s.total++
	s.byClient[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.total--
			if s.byClient[client]--; s.byClient[client] == 0 {
				delete(s.byClient, client)
			}
		})
	}, nil
}

// clientKey is whom per-client limits count a request against: the
// account the authorizer named, or the client's address (for IPv6 its
// /64, which one host usually holds whole).
func clientKey(r *http.Request, account string) string {
	if account != "" {
		return "account " + account
	}
	a := edge.ClientIP(r)
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "address " + p.String()
	}
	return "address " + a.String()
}

// carriesBlob reports whether r sends a blob's bytes: a PATCH or PUT of an
// upload session, or a POST that uploads in one request, with a body.
func carriesBlob(rt route, r *http.Request) bool {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return false
	}
	switch rt.Kind {
	case routeUpload:
		return r.Method == http.MethodPatch || r.Method == http.MethodPut
	case routeUploadStart:
		return r.Method == http.MethodPost
	}
	return false
}

// idleBody is a request body that fails with registry.ErrUploadStalled
// once the client has sent nothing for idle. Each read pushes the
// connection's read deadline back (http.ResponseController, which works
// for HTTP/1 and HTTP/2 alike), so an upload of any size may take as long
// as it keeps sending: unlike http.Server.ReadTimeout, nothing bounds the
// whole request. The deadline moves at most once per step, so that a body
// read in many small pieces costs few timer updates; the client so gets
// between idle-step and idle of silence.
type idleBody struct {
	io.ReadCloser
	rc         *http.ResponseController
	idle, step time.Duration
	log        *slog.Logger
	ctx        context.Context // for the log line only

	pushAt time.Time // when the deadline is next pushed back
	// done is set once a read failed or the body ended: the deadline is
	// then left alone, as net/http's own read of the next request (or of
	// a closed connection) begins.
	done bool
}

// withIdleTimeout wraps r's body in an idleBody; idle <= 0 leaves it.
func withIdleTimeout(w http.ResponseWriter, r *http.Request, idle time.Duration, log *slog.Logger) {
	if idle <= 0 || r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	r.Body = &idleBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: idle,
		step: min(idle/8, time.Second), log: log, ctx: r.Context()}
}

func (b *idleBody) Read(p []byte) (int, error) {
	if !b.done {
		if now := time.Now(); !now.Before(b.pushAt) {
			if err := b.rc.SetReadDeadline(now.Add(b.idle)); err != nil {
				// A connection without deadlines (not one net/http
				// serves): read without one rather than fail.
				b.log.WarnContext(b.ctx, "upload idle timeout not enforced on this connection", "err", err)
				b.done = true
			}
			b.pushAt = now.Add(b.step)
		}
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("%w: no byte received for %s (limits.upload_idle_timeout)", registry.ErrUploadStalled, b.idle)
		}
	}
	return n, err
}
