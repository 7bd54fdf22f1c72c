package metrics

import (
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"wharf/internal/events"
)

func TestRequests(t *testing.T) {
	t.Parallel()
	m := New(Options{Version: "v1.2.3"})
	for _, tc := range []struct {
		method, path string
		status       int
		in, out      int64
	}{
		{"PATCH", "/v2/a/blobs/uploads/u1", 202, 1000, 0},
		{"PUT", "/v2/a/blobs/uploads/u1", 201, 24, 0},
		{"GET", "/v2/a/blobs/sha256:00", 200, 0, 1024},
		{"GET", "/v2/a/blobs/sha256:01", 200, 0, 1024},
		{"BREW", "/v2/a/b/c/d/e/f/g", 418, 0, 10},
		{"POST", "/auth/token", 429, 20, 50},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		m.Begin(r)
		if got := testutil.ToFloat64(m.inflight.WithLabelValues(Family(tc.path))); got != 1 {
			t.Errorf("%s %s: in flight %v during the request; want 1", tc.method, tc.path, got)
		}
		m.End(r, tc.status, tc.in, tc.out, 5*time.Millisecond)
	}
	expect(t, []check{
		{testutil.ToFloat64(m.requests.WithLabelValues("upload", "PATCH", "2xx")), 1, "upload PATCH 2xx"},
		{testutil.ToFloat64(m.requests.WithLabelValues("blob", "GET", "2xx")), 2, "blob GET 2xx"},
		{testutil.ToFloat64(m.requests.WithLabelValues("other", "other", "4xx")), 1, "an unknown method and path"},
		{testutil.ToFloat64(m.bytesIn.WithLabelValues("upload")), 1024, "upload bytes in"},
		{testutil.ToFloat64(m.bytesOut.WithLabelValues("blob")), 2048, "blob bytes out"},
		{testutil.ToFloat64(m.rateLimited.WithLabelValues("token")), 1, "429s of the token endpoint"},
		{testutil.ToFloat64(m.inflight.WithLabelValues("upload")), 0, "uploads in flight after"},
	})
	// Bounded: six requests, whatever their paths and methods, make no
	// more series than the families and methods they fall in.
	if n := testutil.CollectAndCount(m.requests); n != 5 {
		t.Errorf("%d request series; want 5", n)
	}
	if n := testutil.CollectAndCount(m.duration); n != 5 {
		t.Errorf("%d latency series; want 5", n)
	}
}

func TestEventsGCTokensErrors(t *testing.T) {
	t.Parallel()
	m := New(Options{})
	var sink events.Sink = m
	sink.Record(&events.Event{Action: events.Push, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 500})
	sink.Record(&events.Event{Action: events.Push, Size: 1000})
	sink.Record(&events.Event{Action: events.Pull, Size: 1000})
	sink.Record(&events.Event{Action: events.Pull, Size: 300, Redirected: true})
	sink.Record(&events.Event{Action: events.Delete})
	sink.Record(&events.Event{Action: "rename"})
	m.GCDone(GCRun{Duration: 3 * time.Second, Blobs: 2, Bytes: 4096, Uploads: 1, Ended: time.Unix(1700000000, 0)})
	m.GCDone(GCRun{Duration: time.Second, Err: errors.New("lease lost")})
	m.GCDone(GCRun{Duration: time.Hour, Uploads: 3, Ended: time.Unix(1800000000, 0), UploadsOnly: true})
	m.GCDone(GCRun{UploadsOnly: true, Err: errors.New("database is locked")})
	m.TokenOutcome("issued")
	m.TokenOutcome("<script>")
	m.BackendError("database")
	m.BackendError("/etc/passwd")
	expect(t, []check{
		{testutil.ToFloat64(m.events.WithLabelValues("push", "manifest")), 1, "manifest pushes"},
		{testutil.ToFloat64(m.events.WithLabelValues("push", "blob")), 1, "blob pushes"},
		{testutil.ToFloat64(m.eventBytes.WithLabelValues("push", "manifest")), 500, "manifest bytes pushed"},
		{testutil.ToFloat64(m.eventBytes.WithLabelValues("pull", "blob")), 1300, "blob bytes pulled"},
		{testutil.ToFloat64(m.redirected.WithLabelValues("blob")), 300, "blob bytes pulled through a redirect"},
		{testutil.ToFloat64(m.events.WithLabelValues("delete", "blob")), 1, "deletes"},
		{testutil.ToFloat64(m.events.WithLabelValues("other", "blob")), 1, "an unknown action"},
		{testutil.ToFloat64(m.gcRuns.WithLabelValues("ok")), 1, "GC runs ok"},
		{testutil.ToFloat64(m.gcRuns.WithLabelValues("failed")), 1, "GC runs failed"},
		{testutil.ToFloat64(m.gcFreed.WithLabelValues("bytes")), 4096, "GC bytes freed"},
		{testutil.ToFloat64(m.gcFreed.WithLabelValues("blobs")), 2, "GC blobs freed"},
		{testutil.ToFloat64(m.gcFreed.WithLabelValues("uploads")), 4, "uploads freed by the run and the uploads pass"},
		{testutil.ToFloat64(m.gcUploadPasses.WithLabelValues("ok")), 1, "uploads passes ok"},
		{testutil.ToFloat64(m.gcUploadPasses.WithLabelValues("failed")), 1, "uploads passes failed"},
		{testutil.ToFloat64(m.gcLastSuccess), 1700000000, "last GC success, not moved by the uploads pass"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("issued")), 1, "tokens issued"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("other")), 1, "an unknown token outcome"},
		{testutil.ToFloat64(m.backend.WithLabelValues("database")), 1, "database errors"},
		{testutil.ToFloat64(m.backend.WithLabelValues("other")), 1, "an unknown backend"},
	})
	if n := testutil.CollectAndCount(m.gcDuration); n != 1 {
		t.Errorf("gc duration: %d series", n)
	}
}

// check is a value read from an instrument and the one expected.
type check struct {
	got, want float64
	what      string
}

func expect(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v; want %v", c.what, c.got, c.want)
		}
	}
}

func TestNilMetricsIsANoOp(t *testing.T) {
	t.Parallel()
	var m *Metrics
	r := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	m.Begin(r)
	m.End(r, 200, 1, 1, time.Second)
	m.Record(&events.Event{Action: events.Push})
	m.GCDone(GCRun{})
	m.TokenOutcome("issued")
	m.BackendError("storage")
	if err := m.Register(NewDBStats(func() sql.DBStats { return sql.DBStats{} })); err != nil {
		t.Error(err)
	}
}

func TestHandlerAndCollectors(t *testing.T) {
	t.Parallel()
	m := New(Options{Version: "v9.9.9"})
	if err := m.Register(NewDBStats(func() sql.DBStats {
		return sql.DBStats{MaxOpenConnections: 32, OpenConnections: 3, InUse: 1, Idle: 2, WaitCount: 7, WaitDuration: 1500 * time.Millisecond}
	})); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`wharf_build_info{goversion="`, `version="v9.9.9"} 1`,
		"wharf_db_max_open_connections 32", "wharf_db_in_use_connections 1", "wharf_db_wait_total 7", "wharf_db_wait_seconds_total 1.5",
		"go_goroutines ", "process_start_time_seconds ",
		`wharf_token_requests_total{outcome="login_failed"} 0`, `wharf_gc_runs_total{result="failed"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the scrape lacks %q", want)
		}
	}
	// A second registry is its own: nothing leaks through a global one.
	other := New(Options{})
	if mf, err := other.Gatherer().Gather(); err != nil || hasFamily(mf, "wharf_db_max_open_connections") {
		t.Errorf("a second Metrics sees the first's collectors (%v)", err)
	}
}

func hasFamily(mf []*dto.MetricFamily, name string) bool {
	for _, f := range mf {
		if f.GetName() == name {
			return true
		}
	}
	return false
}
