package edge

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// BodyDeadline bounds how long the body of a request to next may take
// to arrive: d from when its headers are in (which ReadHeaderTimeout
// bounds). It is for the endpoints whose bodies are small — the token
// endpoint, the admin API, the browser sign-in pages — where a client
// trickling a byte now and then only holds a connection and a goroutine.
// A deadline per request, set with http.ResponseController, works on
// HTTP/1 and HTTP/2 alike; http.Server.ReadTimeout would do the same for
// every request, blob uploads of gigabytes included.
//
// When the deadline passes, the body's reads fail with
// os.ErrDeadlineExceeded, which the token endpoint and the admin API
// answer 408 in their own formats; net/http then closes the connection,
// as the body was not read to its end. A body the handler left unread is
// read after it under the same deadline.
func BodyDeadline(next http.Handler, d time.Duration, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A request without a body is in once its headers are, and on
		// HTTP/1 net/http already reads the connection for its end: a
		// deadline would cut that read.
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(d)); err != nil {
			log.WarnContext(r.Context(), "request body deadline not enforced on this connection", "path", r.URL.Path, "err", err)
			next.ServeHTTP(w, r)
			return
		}
		body := &deadlineBody{ReadCloser: r.Body}
		r.Body = body
		next.ServeHTTP(w, r)
		if !body.ended.Load() {
			// The handler left (some of) the body unread, as the sign-in
			// pages do. net/http would read it before answering; read it
			// here, as much as net/http would, so that a late one is
			// logged too.
			_, _ = io.CopyN(io.Discard, body, maxUnreadBody)
		}
		if body.expired.Load() {
			log.WarnContext(r.Context(), "request body did not arrive in time; the request ends",
				"method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
				"received_bytes", body.received.Load(), "limit", d, "setting", "limits.body_timeout")
		}
	})
}

// maxUnreadBody is how much of a body a handler left unread is read
// after it: net/http's own bound (beyond it, it closes the connection).
const maxUnreadBody = 256 << 10

// deadlineBody notes how much of a body arrived, whether it ended, and
// whether its deadline passed, for the log.
type deadlineBody struct {
	io.ReadCloser
	received atomic.Int64
	ended    atomic.Bool // a read failed or reached the end
	expired  atomic.Bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.received.Add(int64(n))
	if err != nil {
		b.ended.Store(true)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.expired.Store(true)
		}
	}
	return n, err
}
