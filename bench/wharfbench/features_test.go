package wharfbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// envelopeOf is an envelope of n events shaped as wharf sends them.
func envelopeOf(n int) []byte {
	var evs []json.RawMessage
	for i := range n {
		evs = append(evs, fmt.Appendf(nil, `{"id":"e%d","timestamp":"2026-12-07T17:00:00Z","action":"pull","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1234,"digest":"sha256:%064d","length":1234,"repository":"bench/small-%d","url":"http://127.0.0.1:5000/v2/bench/small-%d/manifests/sha256:%064d","tag":"latest","references":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%064d","size":16384}]},"request":{"id":"r%d","addr":"127.0.0.1","host":"127.0.0.1:5000","method":"GET","useragent":"wharfbench"},"actor":{},"source":{"addr":"127.0.0.1:5000","instanceID":"x"}}`, i, i, i, i, i, i, i))
	}
	b, _ := json.Marshal(map[string]any{"events": evs})
	return b
}

// TestReceiverCounts: the benchmark's receiver counts the events of every
// envelope, and counts a body that is not one as bad.
func TestReceiverCounts(t *testing.T) {
	r := &receiver{}
	for _, body := range [][]byte{envelopeOf(1), envelopeOf(100), []byte(`{"events":[]}`), []byte(`not an envelope`)} {
		r.serveHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body)))
	}
	if r.events.Load() != 101 || r.posts.Load() != 4 || r.bad.Load() != 1 {
		t.Errorf("receiver counted %d events in %d posts, %d bad; want 101 in 4, 1 bad", r.events.Load(), r.posts.Load(), r.bad.Load())
	}
}

// BenchmarkReceiver is the receiver's CPU per envelope of 100 events, which
// the features pass's "on" server shares its cores with.
func BenchmarkReceiver(b *testing.B) {
	body := envelopeOf(100)
	r := &receiver{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r.serveHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body)))
	}
	if r.bad.Load() > 0 || r.events.Load() == 0 {
		b.Fatalf("%d bad envelopes", r.bad.Load())
	}
}
