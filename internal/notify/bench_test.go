package notify

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/events"
	"wharf/internal/metadata"
)

// BenchmarkRecord is the cost a request pays for notifications: copying
// its event into the buffer.
func BenchmarkRecord(b *testing.B) {
	n, err := New(nil, nil, Options{Buffer: b.N + 1, Endpoints: []Endpoint{{Name: "hook", URL: "http://127.0.0.1:1/"}}})
	if err != nil {
		b.Fatal(err)
	}
	e := &events.Event{Action: events.Pull, Repository: "team/app", Digest: digest.FromString("x"),
		MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1234, Tag: "v1", Addr: netip.MustParseAddr("10.0.0.1"),
		RequestID: "01JF0000000000000000000000", Host: "registry.example.com", UserAgent: "docker/27.3.1"}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n.Record(e)
	}
}

// BenchmarkFlush is the background cost per event: rendering it for two
// endpoints and queueing it in SQLite, in flushes of 1000 events (a 100 ms flush at 10,000 events a second).
func BenchmarkFlush(b *testing.B) {
	s, err := metadata.Open(b.Context(), "sqlite", b.TempDir()+"/wharf.db", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n, err := New(s, nil, Options{Endpoints: []Endpoint{{Name: "a", URL: "http://127.0.0.1:1/"}, {Name: "b", URL: "http://127.0.0.1:1/"}}})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]recorded, 1000)
	for i := range batch {
		batch[i] = recorded{Event: events.Event{Action: events.Push, Repository: "team/app", Digest: digest.FromString("x"), Size: 1234, Host: "h"}}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch) {
		if held := n.flush(b.Context(), batch); held != nil {
			b.Fatal("flush failed")
		}
	}
}

// BenchmarkDeliver is the catch-up rate of one endpoint: b.N queued events
// delivered in order to a receiver on loopback, maxevents events a request
// (1: one request each, as before envelopes carried several). The receiver
// reads each body and counts its events without decoding them (one
// "action" key an event), so that the figure is the sender's, not a JSON
// decoder's (which takes 10–20 µs an event):
//
//	go test -run '^$' -bench Deliver -benchmem ./internal/notify/
func BenchmarkDeliver(b *testing.B) {
	for _, max := range []int{1, DefaultMaxEvents} {
		b.Run(fmt.Sprint("maxevents=", max), func(b *testing.B) {
			s, err := metadata.Open(b.Context(), "sqlite", b.TempDir()+"/wharf.db", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var got, posts atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err != nil || !bytes.HasPrefix(body, []byte(`{"events":[`)) {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				posts.Add(1)
				got.Add(int64(bytes.Count(body, []byte(`"action":"`))))
			}))
			defer srv.Close()
			ep := Endpoint{Name: "hook", URL: srv.URL, Timeout: time.Second, Threshold: 1, Backoff: time.Millisecond, Secret: []byte("s"), MaxEvents: max}
			q, err := New(s, nil, Options{Endpoints: []Endpoint{ep}})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i += 1000 {
				batch := make([]recorded, min(1000, b.N-i))
				for j := range batch {
					batch[j] = recorded{Event: events.Event{Action: events.Push, Repository: "team/app", Digest: digest.FromString("x"), Size: 1234, Host: "h"}}
				}
				if held := q.flush(b.Context(), batch); held != nil {
					b.Fatal("flush failed")
				}
			}
			b.ResetTimer()
			q.Run(b.Context())
			defer q.Close()
			for got.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(posts.Load())/float64(b.N), "requests/event")
		})
	}
}
