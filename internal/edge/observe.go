package edge

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wharf/internal/errcode"
)

// statusWriter records the status and size of a response for the access
// log. It forwards ReadFrom so that blob downloads keep using sendfile.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom hands the copy to the real writer, which passes a file straight
// to the kernel (sendfile) instead of copying through user space.
func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observe gives each request an id (in its context and the X-Request-Id
// response header), writes one access log line per request unless access
// is false (log.access: off, for a proxy in front that writes its own),
// and recovers from a panic in next: a bug in one request must not stop
// the server. The panicking request is logged at ERROR, access log or not,
// and, if nothing was written yet, answered 500 UNKNOWN. log should have
// NewLogHandler's handler, so that the lines carry the id.
func Observe(next http.Handler, log *slog.Logger, access bool) http.Handler {
	return ObserveRecorded(next, log, access, nil)
}

// Recorder is told of every request Observe sees (the metrics, the
// traces): Begin when it arrives, with the request id in its context,
// End when its handler has returned, with the status, the bytes of the
// request's body read and of the answer written, and the time taken. Begin
// returns the context the request continues with (its own, or one that
// carries a span); End gets the request with that context. Both run on the
// request's goroutine and must not block.
type Recorder interface {
	Begin(r *http.Request) context.Context
	End(r *http.Request, status int, in, out int64, d time.Duration)
}

// Recorders tells each of its recorders in turn; End goes in the reverse
// order, as deferred calls would.
type Recorders []Recorder

// Begin implements Recorder.
func (rs Recorders) Begin(r *http.Request) context.Context {
	for _, rec := range rs {
		if ctx := rec.Begin(r); ctx != r.Context() {
			r = r.WithContext(ctx)
		}
	}
	return r.Context()
}

// End implements Recorder.
func (rs Recorders) End(r *http.Request, status int, in, out int64, d time.Duration) {
	for i := len(rs) - 1; i >= 0; i-- {
		rs[i].End(r, status, in, out, d)
	}
}

// ObserveRecorded is Observe that also tells rec (when not nil) of every
// request, after the access line.
func ObserveRecorded(next http.Handler, log *slog.Logger, access bool, rec Recorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := NewRequestID()
		w.Header().Set(RequestIDHeader, id)
		r = r.WithContext(WithRequestID(r.Context(), id))
		ctx := r.Context()
		sw := &statusWriter{ResponseWriter: w}
		if rec != nil {
			var body *countingBody
			if r.Body != nil && r.Body != http.NoBody {
				body = &countingBody{ReadCloser: r.Body}
				r.Body = body
			}
			if rctx := rec.Begin(r); rctx != r.Context() {
				r = r.WithContext(rctx)
				ctx = rctx
			}
			// Deferred first, so it runs last: after the access line, and
			// also when an aborted request panics on past the recovery.
			defer func() {
				var in int64
				if body != nil {
					in = body.n
				}
				rec.End(r, sw.status, in, sw.bytes, time.Since(start))
			}()
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
				if sw.status == 0 {
					errcode.WriteOCI(sw, r, errcode.New(errcode.Unknown, ""))
				}
			}
			if access {
				log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path,
					"status", sw.status, "bytes", sw.bytes, "duration_ms", time.Since(start).Milliseconds(),
					"remote", r.RemoteAddr, "user_agent", UserAgent(r.UserAgent()))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// countingBody counts the bytes of a request's body the handler read.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// Handler is the edge in front of a listener's routes: Forwarded first, so
// that the access log and every handler see the client a trusted proxy
// forwarded for, then Observe, telling rec (nil: nothing) of every request.
func Handler(next http.Handler, trusted []netip.Prefix, log *slog.Logger, access bool, rec Recorder) http.Handler {
	return Forwarded(ObserveRecorded(next, log, access, rec), trusted)
}

// userAgentMax is how many characters of a User-Agent the access log
// keeps: enough to name the client and its version (docker's runs to 300
// with its kernel and build details, on every request).
const userAgentMax = 100

// UserAgent is ua as a log line shows it: at most userAgentMax characters,
// then "…", with control characters and bytes that are not UTF-8 replaced
// by U+FFFD. The client chooses the header; a log reader must not get
// escape sequences or megabytes from it.
func UserAgent(ua string) string {
	n, end, clean := 0, len(ua), true
	for i, c := range ua {
		if n == userAgentMax {
			end = i
			break
		}
		if c == utf8.RuneError || unicode.IsControl(c) {
			clean = false
		}
		n++
	}
	cut := ua[:end]
	if !clean {
		cut = strings.Map(func(c rune) rune {
			if unicode.IsControl(c) {
				return utf8.RuneError
			}
			return c // strings.Map turns invalid UTF-8 into U+FFFD itself
		}, cut)
	}
	if end < len(ua) {
		return cut + "…"
	}
	return cut
}
