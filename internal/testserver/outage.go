package testserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
)

// S3Outage is a proxy in front of an S3 server that answers every request
// with 503 ServiceUnavailable, in S3's XML, while Down is set: the outage
// a client of the real server must survive. Closing it makes the server
// unreachable.
type S3Outage struct {
	// URL is the proxy's endpoint, to give the client instead of the
	// server's.
	URL string
	// Down makes the proxy refuse every request.
	Down atomic.Bool
	// Refused counts the requests refused while Down.
	Refused atomic.Int64
	srv     *httptest.Server
}

// StartS3Outage starts the proxy in front of endpoint on a loopback port;
// it is closed when the test ends.
func StartS3Outage(t testing.TB, endpoint string) *S3Outage {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	o := &S3Outage{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.Down.Load() {
			o.Refused.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>down for the test</Message></Error>`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	o.URL = o.srv.URL
	t.Cleanup(o.srv.Close)
	return o
}

// Close stops the proxy: the server behind it is unreachable from then on.
func (o *S3Outage) Close() { o.srv.Close() }
