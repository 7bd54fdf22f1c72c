package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
	"wharf/internal/metrics"
	"wharf/internal/testserver"
)

// metricsConfig writes a wharf.yml with metrics: set to body's lines.
func metricsConfig(t *testing.T, body string) string {
	t.Helper()
	return writeConfig(t, t.TempDir(), "metrics:\n"+body)
}

// get sends GET url with the Authorization authz (none when empty).
func get(t *testing.T, url, authz string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, res.Header, body
}

// scrape is what Prometheus does: GET /metrics, then its own text parser.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, url, authz string) scrape {
	t.Helper()
	status, _, body := get(t, url, authz)
	if status != http.StatusOK {
		t.Fatalf("scrape %s: %d %s", url, status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("scrape %s: the text parser refuses it: %v", url, err)
	}
	return families
}

// value is the sample of family name whose labels include want (a
// counter's, gauge's or untyped value); 0 when there is none.
func (s scrape) value(name string, want ...string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestMetricsScrape scrapes /metrics of a real `wharf serve` with token
// auth, as Prometheus would, before and after crane pushes and pulls an
// image, and checks that the counters moved by exactly what was done: one
// manifest and three blobs pushed and pulled, their bytes in and out, one
// failed login. /metrics on the main listener is behind the ACL: 401 with
// a challenge naming admin:metrics:pull without credentials, 403 for an
// account the ACL does not grant it, 200 for a scrape robot's access token
// that one rule grants.
func TestMetricsScrape(t *testing.T) {
	harness.SkipIfShort(t)
	const (
		adminPW = "the admin's e2e password"
		alicePW = "alice's e2e password"
	)
	w := harness.StartWharfCommand(t, []string{"WHARF_ADMIN_PASSWORD=" + adminPW},
		"serve", "--config", metricsConfig(t, "  enabled: true\n"),
		"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth", "token", "--tls", "off")
	defer checkRequestIDs(t, w)
	t.Cleanup(httpClient.CloseIdleConnections)
	ctx := testContext(t, 5*time.Minute)
	url := w.URL() + "/metrics"
	admin := basicAuth("admin", adminPW)
	api := adminClient{t: t, base: w.URL() + "/api/v1"}

	// The ACL: no credentials, then an account without the scope.
	status, h, _ := get(t, url, "")
	if c := h.Get("WWW-Authenticate"); status != http.StatusUnauthorized || challengeParam(c, "scope") != "admin:metrics:pull" {
		t.Fatalf("no credentials: %d, challenge %q; want 401 naming admin:metrics:pull", status, c)
	}
	api.must(http.StatusCreated, admin, "POST", "/users", map[string]any{"name": "alice", "password": alicePW}, nil)
	if status, _, body := get(t, url, basicAuth("alice", alicePW)); status != http.StatusForbidden || !strings.Contains(string(body), "admin:metrics:pull") {
		t.Fatalf("alice, who is not granted the scope: %d %s; want 403 naming it", status, body)
	}
	if status, _, _ := get(t, url, basicAuth("admin", "not the password")); status != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d; want 401", status)
	}

	// A scrape account: a robot, one rule, an access token with that scope.
	api.must(http.StatusCreated, admin, "POST", "/users", map[string]any{"name": "prometheus", "robot": true}, nil)
	api.must(http.StatusCreated, admin, "POST", "/acl/rules",
		map[string]any{"match": map[string]any{"account": "prometheus", "type": "admin", "name": "metrics"}, "actions": []string{"pull"}}, nil)
	var tok struct {
		Token string `json:"token"`
	}
	api.must(http.StatusCreated, admin, "POST", "/tokens",
		map[string]any{"user": "prometheus", "scopes": []string{"admin:metrics:pull"}, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, &tok)
	scraper := basicAuth("prometheus", tok.Token)
	// The scope reads /metrics and nothing else.
	if status, _ := api.call(scraper, "GET", "/users", nil, nil); status != http.StatusForbidden {
		t.Errorf("the scrape token on the admin API: %d; want 403", status)
	}
	before := scrapeMetrics(t, url, scraper)

	img, err := random.Image(8<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPW})
	r := ref(t, w, "metrics/app:1")
	if err := remote.Write(r, img, remoteOpts(ctx, auth)...); err != nil {
		t.Fatalf("push: %v\n%s", err, w.Log())
	}
	blobs := blobsOf(t, img)
	var blobBytes int64
	for _, b := range blobs {
		blobBytes += b.Size
	}
	// Pull as a client does: the manifest once, then each blob once.
	if _, err := remote.Get(r, remoteOpts(ctx, auth)...); err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		l, err := remote.Layer(r.Context().Digest(b.Digest.String()), remoteOpts(ctx, auth)...)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, rc); err != nil || n != b.Size {
			t.Fatalf("pull blob %s: %d bytes, %v", b.Digest, n, err)
		}
		rc.Close()
	}
	// One failed login at the token endpoint.
	if _, err := remote.Get(r, remoteOpts(ctx, remote.WithAuth(&authn.Basic{Username: "admin", Password: "wrong"}))...); err == nil {
		t.Fatal("a pull with a wrong password succeeded")
	}
	after := scrapeMetrics(t, url, scraper)

	delta := func(name string, labels ...string) float64 {
		return after.value(name, labels...) - before.value(name, labels...)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wharf_content_events_total", []string{"action", "push", "kind", "manifest"}, 1},
		{"wharf_content_events_total", []string{"action", "push", "kind", "blob"}, float64(len(blobs))},
		{"wharf_content_events_total", []string{"action", "pull", "kind", "manifest"}, 1},
		{"wharf_content_events_total", []string{"action", "pull", "kind", "blob"}, float64(len(blobs))},
		{"wharf_content_bytes_total", []string{"action", "push", "kind", "blob"}, float64(blobBytes)},
		{"wharf_content_bytes_total", []string{"action", "pull", "kind", "blob"}, float64(blobBytes)},
		{"wharf_http_requests_total", []string{"family", "manifest", "method", "PUT", "status", "2xx"}, 1},
		{"wharf_http_request_body_bytes_total", []string{"family", "upload"}, float64(blobBytes)},
		{"wharf_http_response_body_bytes_total", []string{"family", "blob"}, float64(blobBytes)},
		{"wharf_token_requests_total", []string{"outcome", "login_failed"}, 1},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v; want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := delta("wharf_token_requests_total", "outcome", "issued"); got < 1 {
		t.Errorf("wharf_token_requests_total{outcome=issued} moved by %v; crane got tokens", got)
	}
	if got := delta("wharf_http_request_duration_seconds", "family", "manifest", "method", "PUT"); got != 1 {
		t.Errorf("the latency histogram of manifest PUTs counted %v; want 1", got)
	}
	if got := after.value("wharf_http_requests_in_flight", "family", "upload"); got != 0 {
		t.Errorf("uploads in flight after the push: %v", got)
	}
	// Bounded labels: every family is one of the list, whatever the paths.
	for _, m := range after["wharf_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "family" && !slices.Contains(metrics.Families, l.GetValue()) {
				t.Errorf("family label %q is not one of %v", l.GetValue(), metrics.Families)
			}
		}
	}
	for _, name := range []string{"wharf_build_info", "go_goroutines", "process_resident_memory_bytes", "wharf_db_max_open_connections"} {
		if after.value(name) <= 0 {
			t.Errorf("%s is missing or 0", name)
		}
	}
	// wharf_build_info carries what `wharf version` prints.
	out, err := exec.Command(harness.WharfBinary(t), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(out)); len(f) < 2 || after.value("wharf_build_info", "version", f[1]) != 1 {
		t.Errorf("wharf_build_info has no version=%q (wharf version: %q)", f, out)
	}
	// The administrator reads it too (the built-in ACL grants admin everything).
	scrapeMetrics(t, url, admin)
	t.Logf("pushed and pulled %d blobs, %d bytes; the scrape has %d families", len(blobs), blobBytes, len(after))
}

// blobsOf lists an image's config and layers.
func blobsOf(t *testing.T, img v1.Image) []v1.Descriptor {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return append([]v1.Descriptor{m.Config}, m.Layers...)
}

// TestMetricsAddr serves /metrics on an address of its own, without
// credentials, beside debug_addr's profiles; the main listener of a
// registry without token auth does not serve it.
func TestMetricsAddr(t *testing.T) {
	harness.SkipIfShort(t)
	maddr, daddr := harness.FreeLoopbackAddr(t), harness.FreeLoopbackAddr(t)
	w := harness.StartWharfCommand(t, nil, "serve", "--config", metricsConfig(t, "  enabled: true\n  addr: "+maddr+"\n"),
		"--debug-addr", daddr, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth", "none", "--tls", "off")
	t.Cleanup(httpClient.CloseIdleConnections)
	ctx := testContext(t, time.Minute)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, w, "a/b:1"), img, remoteOpts(ctx)...); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"http://" + maddr + "/metrics", "http://" + daddr + "/metrics"} {
		s := scrapeMetrics(t, url, "")
		if got := s.value("wharf_content_events_total", "action", "push", "kind", "manifest"); got != 1 {
			t.Errorf("%s: manifest pushes %v; want 1", url, got)
		}
	}
	if status, _, _ := get(t, w.URL()+"/metrics", ""); status != http.StatusNotFound {
		t.Errorf("/metrics on the main listener with metrics.addr set: %d; want 404", status)
	}
	if !strings.Contains(w.Log(), "metrics are served") {
		t.Errorf("the log does not say where metrics are served:\n%s", w.Log())
	}
}

// TestReadyz checks /readyz of a real `wharf serve` on PostgreSQL: ready
// while the database answers and the blob store takes writes; 503
// UNAVAILABLE naming the blob store when its upload directory is gone, and
// the database when the server is killed. /healthz, a liveness check,
// stays 200 throughout.
func TestReadyz(t *testing.T) {
	harness.SkipIfShort(t)
	pg := testserver.StartPostgres(t)
	data := t.TempDir()
	env := []string{"WHARF_DATABASE_DRIVER=postgres", "WHARF_DATABASE_DSN=" + pg.DSN}
	w := harness.StartWharfCommand(t, env, "serve", "--addr", "127.0.0.1:0", "--data", data, "--auth", "none", "--tls", "off")
	t.Cleanup(httpClient.CloseIdleConnections)
	ready := func(want int, wantBody string) {
		t.Helper()
		// An answer is reused for a second: wait for a fresh one.
		deadline := time.Now().Add(10 * time.Second)
		for {
			status, h, body := get(t, w.URL()+"/readyz", "")
			if status == want && strings.Contains(string(body), wantBody) {
				if want == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
					t.Errorf("/readyz 503 without Retry-After")
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz: %d %s; want %d with %q\n%s", status, body, want, wantBody, w.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	healthy := func() {
		t.Helper()
		if status, _, _ := get(t, w.URL()+"/healthz", ""); status != http.StatusOK {
			t.Errorf("/healthz: %d; want 200 (liveness does not depend on the backends)", status)
		}
	}
	ready(http.StatusOK, "ready")

	uploads := filepath.Join(datadir.New(data).Blobs(), "uploads")
	if err := os.Rename(uploads, uploads+".away"); err != nil {
		t.Fatal(err)
	}
	ready(http.StatusServiceUnavailable, "blob storage unavailable")
	healthy()
	if err := os.Rename(uploads+".away", uploads); err != nil {
		t.Fatal(err)
	}
	ready(http.StatusOK, "ready")

	pg.Kill()
	ready(http.StatusServiceUnavailable, "metadata database unavailable")
	healthy()
	for _, want := range []string{"not ready: the blob store takes no writes", "not ready: the metadata database does not answer"} {
		if !strings.Contains(w.Log(), want) {
			t.Errorf("the log lacks %q", want)
		}
	}
}

// TestTraces runs `wharf serve` with tracing: to an OTLP/HTTP collector: a
// push by crane and a GET of the base endpoint are server spans named by
// method and route family, and the GET's span carries the request id of
// its X-Request-Id; the manifest PUT has its database transaction as a
// child span, the upload's final PUT its blob commit; the spans still
// queued are sent when the server stops.
func TestTraces(t *testing.T) {
	harness.SkipIfShort(t)
	c := testserver.StartOTLPCollector(t)
	cfg := writeConfig(t, t.TempDir(), "tracing:\n  enabled: true\n  endpoint: "+c.URL+"\n")
	w := harness.StartWharfCommand(t, nil, "serve", "--config", cfg, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--auth", "none", "--tls", "off")
	t.Cleanup(httpClient.CloseIdleConnections)
	ctx := testContext(t, time.Minute)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, w, "traced/app:1"), img, remoteOpts(ctx)...); err != nil {
		t.Fatal(err)
	}
	_, h, _ := get(t, w.URL()+"/v2/", "")
	id := h.Get("X-Request-Id")
	w.Stop()

	spans, bad := c.Spans()
	if len(bad) > 0 {
		t.Fatalf("malformed exports: %v", bad)
	}
	names := map[string]int{}
	byID := map[string]string{}
	for _, s := range spans {
		byID[string(s.GetSpanId())] = s.GetName()
	}
	children := map[string]int{} // "parent > child"
	var base map[string]string
	for _, s := range spans {
		names[s.GetName()]++
		if p, ok := byID[string(s.GetParentSpanId())]; ok {
			children[p+" > "+s.GetName()]++
		}
		if a := testserver.SpanAttrs(s); a["wharf.request_id"] == id {
			base = a
		}
	}
	if names["PUT manifest"] != 1 || names["GET base"] < 1 {
		t.Errorf("span names %v; want one PUT manifest and the GET base", names)
	}
	if base == nil || base["url.path"] != "/v2/" || base["http.response.status_code"] != "200" {
		t.Errorf("no span with request id %s and its path and status (got %v)", id, base)
	}
	// A group commit serves several requests: it is in none of their
	// traces, each write's own span stands for it.
	if children["PUT manifest > db PutManifest"] != 1 || children["PUT upload > storage Commit"] < 1 || names["db transaction"] != 0 {
		t.Errorf("child spans %v; want the manifest PUT's transaction and the upload's commit", children)
	}
	t.Logf("%d spans: %v; children: %v", len(spans), names, children)
}
