package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"wharf/internal/errcode"
)

// readyProbeTimeout bounds each probe of /readyz: a database that does not
// answer a ping in this time is not ready, whatever it would say later.
const readyProbeTimeout = 2 * time.Second

// readyCacheFor is how long one probe's answer is reused: a load balancer
// polling every instance many times a second makes one probe a second.
const readyCacheFor = time.Second

// readiness is /readyz's last answer.
type readiness struct {
	mu   sync.Mutex
	at   time.Time
	fail string // "" when ready: else what is not
}

// prober is a blob store that can check it takes writes
// (filesystem.Driver.Probe).
type prober interface {
	Probe(ctx context.Context) error
}

// ready answers /readyz: 200 when the metadata database answers a ping
// and the blob store takes a write (the registry's), 503 UNAVAILABLE naming
// what is not, with the error in the log only.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	rd := &s.readiness
	rd.mu.Lock()
	if time.Since(rd.at) >= readyCacheFor {
		rd.fail = s.probe(r.Context())
		rd.at = time.Now()
	}
	fail := rd.fail
	rd.mu.Unlock()
	if fail != "" {
		w.Header().Set("Cache-Control", "no-store")
		errcode.WriteOCI(w, r, &errcode.Error{Code: errcode.Unavailable, Message: fail, RetryAfter: 5})
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// probe checks the database, then the blob store: "" when both work.
func (s *Server) probe(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, readyProbeTimeout)
	defer cancel()
	if err := s.meta.Ping(ctx); err != nil {
		s.log.ErrorContext(ctx, "not ready: the metadata database does not answer", "err", err)
		return "metadata database unavailable"
	}
	if s.blobs == nil {
		return ""
	}
	if err := s.blobs.Probe(ctx); err != nil {
		s.log.ErrorContext(ctx, "not ready: the blob store takes no writes; check the data directory's permissions and free space, or the S3 bucket's endpoint, credentials and status", "err", err)
		return "blob storage unavailable"
	}
	return ""
}
