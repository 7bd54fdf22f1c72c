package testserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
)

// S3Outage is a proxy in front of an S3 server that answers every request
// with 503 ServiceUnavailable, in S3's XML, while Down is set: the outage
// a client of the real server must survive; and, with NoConditions, the
// 501 of a server without conditional writes. Closing it makes the server
// unreachable.
type S3Outage struct {
	// URL is the proxy's endpoint, to give the client instead of the
	// server's.
	URL string
	// Down makes the proxy refuse every request.
	Down atomic.Bool
	// Refused counts the requests refused while Down.
	Refused atomic.Int64
	// NoConditions answers 501 NotImplemented to conditional writes
	// (If-Match, If-None-Match), as S3 servers without them do.
	NoConditions atomic.Bool
	srv          *httptest.Server
	mu           sync.Mutex
	seen         map[string]map[string]bool // header → values
	carried      map[string]int             // header → requests with it
}

// Requests returns how many requests so far carried header.
func (o *S3Outage) Requests(header string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.carried[http.CanonicalHeaderKey(header)]
}

// Seen returns the values header had in the requests so far, each once.
func (o *S3Outage) Seen(header string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for v := range o.seen[http.CanonicalHeaderKey(header)] {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// StartS3Outage starts the proxy in front of endpoint on a loopback port;
// it is closed when the test ends.
func StartS3Outage(t testing.TB, endpoint string) *S3Outage {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	o := &S3Outage{seen: map[string]map[string]bool{}, carried: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		for k, vs := range r.Header {
			o.carried[k]++
			if o.seen[k] == nil {
				o.seen[k] = map[string]bool{}
			}
			for _, v := range vs {
				o.seen[k][v] = true
			}
		}
		o.mu.Unlock()
		conditional := r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != ""
		switch {
		case o.Down.Load():
			o.Refused.Add(1)
			s3Error(w, http.StatusServiceUnavailable, "ServiceUnavailable")
			return
		case o.NoConditions.Load() && conditional && r.Method == http.MethodPut:
			o.Refused.Add(1)
			s3Error(w, http.StatusNotImplemented, "NotImplemented")
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	o.URL = o.srv.URL
	t.Cleanup(o.srv.Close)
	return o
}

func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>refused for the test</Message></Error>`)
}

// Close stops the proxy: the server behind it is unreachable from then on.
func (o *S3Outage) Close() { o.srv.Close() }
