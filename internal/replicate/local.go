package replicate

import (
	"io"
	"net/http"
	"strconv"
	"sync"
)

// LocalHost is the registry name replication gives this registry: requests
// to it never leave the process (InProcess).
const LocalHost = "wharf.replication.local"

// InProcess is a transport that answers every request with h, in this
// process: replication reads and writes this registry through its own OCI
// API handler (the same checks, quotas and events as a client's push),
// without a socket or a credential. Response bodies stream: a blob is not
// held in memory.
func InProcess(h http.Handler) http.RoundTripper { return inProcess{h} }

type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	// What a server's request always has and a client's may not.
	req = req.Clone(req.Context())
	if req.Body == nil {
		req.Body = http.NoBody
	}
	req.RemoteAddr, req.RequestURI = "127.0.0.1:0", req.URL.RequestURI()
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, ready: make(chan struct{})}
	go func() {
		t.h.ServeHTTP(w, req)
		w.WriteHeader(http.StatusOK) // a handler that wrote nothing
		pw.Close()
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	// A HEAD's length is the header's, as a client reads it off the wire.
	length := int64(-1)
	if n, err := strconv.ParseInt(w.sent.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		length = n
	}
	return &http.Response{
		Status: http.StatusText(w.status), StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.sent, Body: pr, ContentLength: length, Request: req,
	}, nil
}

// pipeWriter is a ResponseWriter whose status and header are handed over
// at the first write, and whose body goes through a pipe.
type pipeWriter struct {
	header http.Header
	sent   http.Header // header as it was at WriteHeader
	body   *io.PipeWriter
	once   sync.Once
	status int
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

func (w *pipeWriter) Flush() {}
