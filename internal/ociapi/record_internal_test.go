package ociapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/edge"
	"wharf/internal/events"
)

// recordSetup returns a pull's recording as a handler with a sink that
// does nothing but count the events with an address does it: the request
// comes through edge.Handler, as in wharf serve, so that its context holds
// what the event is made of at the depth it has there.
func recordSetup(tb testing.TB) (record func(), seen *int) {
	var r *http.Request
	capture := http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) { r = req })
	req := httptest.NewRequest(http.MethodGet, "/v2/team/app/manifests/v1", nil)
	req.RemoteAddr = "10.1.2.3:40000"
	req.Header.Set("User-Agent", "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0 os/linux arch/amd64")
	edge.Handler(capture, nil, slog.New(slog.DiscardHandler), false, nil).ServeHTTP(httptest.NewRecorder(), req)
	if r == nil || edge.RequestID(r.Context()) == "" {
		tb.Fatal("edge.Handler did not pass the request on with its id")
	}
	seen = new(int)
	h := New(nil, slog.New(slog.DiscardHandler), nil, Options{Events: events.SinkFunc(func(e *events.Event) {
		if e.Addr.IsValid() && e.UserAgent != "" && e.RequestID != "" {
			*seen++
		}
	})})
	rt := route{Kind: routeManifest, Name: "team/app", Ref: "v1", Account: "alice"}
	d := digest.FromString("m")
	return func() {
		h.record(r, rt, events.Event{Action: events.Pull, Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: 1234, Tag: "v1"})
	}, seen
}

// TestRecordAllocatesNothing: building a pull's event and handing it to
// the sink allocates nothing on the request's path (the Event is reused,
// the address stays a netip.Addr).
func TestRecordAllocatesNothing(t *testing.T) {
	record, seen := recordSetup(t)
	if n := testing.AllocsPerRun(100, record); n != 0 {
		t.Errorf("recording a pull allocates %v times; want none", n)
	}
	if *seen == 0 {
		t.Error("the sink saw no event with its address, user agent and request id")
	}
}

// BenchmarkRecordEvent is what building and handing over one pull's event
// costs its request with a sink that does nothing:
//
//	go test -run '^$' -bench RecordEvent -benchmem -cpu 1 ./internal/ociapi/
func BenchmarkRecordEvent(b *testing.B) {
	record, seen := recordSetup(b)
	b.ReportAllocs()
	for b.Loop() {
		record()
	}
	if *seen != b.N {
		b.Fatalf("the sink saw %d complete events; want %d", *seen, b.N)
	}
}
