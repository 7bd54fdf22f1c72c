package wharfbench

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The set has a fifth of its images untagged, shares its base layers, and
// is laid out as distribution's tree: one data file per distinct blob, and
// tag links only for tagged images.
func TestGCSetTree(t *testing.T) {
	imgs, untagged := gcSet(52, 1)
	if len(imgs) != 52 || untagged != 11 {
		t.Fatalf("gcSet(52): %d images, %d untagged; want 52 and 11", len(imgs), untagged)
	}
	root := t.TempDir()
	if err := writeRegistryTree(root, imgs); err != nil {
		t.Fatal(err)
	}
	n, err := countBlobFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	// A config, an own layer and a manifest per image, and the 10 bases
	// (11 groups of five images, a base each, the eleventh reusing the first).
	if want := 3*52 + 10; n != want {
		t.Errorf("%d blob files, want %d", n, want)
	}
	tags := 0
	v2 := filepath.Join(root, "docker/registry/v2")
	for _, im := range imgs {
		current := filepath.Join(v2, "repositories", im.repo, "_manifests/tags", im.tag, "current/link")
		b, err := os.ReadFile(current)
		if im.tag == "" {
			continue
		}
		tags++
		if err != nil || string(b) != im.manifestDigest {
			t.Errorf("%s:%s current link %q (%v), want %s", im.repo, im.tag, b, err, im.manifestDigest)
		}
		hex := strings.TrimPrefix(im.manifestDigest, "sha256:")
		if b, err := os.ReadFile(filepath.Join(v2, "blobs/sha256", hex[:2], hex, "data")); err != nil || digestOf(b) != im.manifestDigest {
			t.Errorf("manifest blob of %s:%s: %v", im.repo, im.tag, err)
		}
	}
	if tags != 52-11 {
		t.Errorf("%d tagged images, want %d", tags, 52-11)
	}
}

// Only pulls that overlap the window count for it, and its rate counts the
// pulls that ended inside it.
func TestStatsOf(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ts := []pullTiming{
		{at(0), at(10)},    // before the window
		{at(95), at(105)},  // across its start
		{at(110), at(150)}, // inside
		{at(190), at(230)}, // across its end
		{at(250), at(260)}, // after
	}
	s, err := statsOf(ts, at(100), at(200))
	if err != nil {
		t.Fatal(err)
	}
	if s.samples != 3 {
		t.Errorf("%d pulls in the window, want 3", s.samples)
	}
	if got := s.quantile(0.99); got != 40 {
		t.Errorf("p99 %v ms, want 40", got)
	}
	// Two ended inside a window of 0.1 s.
	if s.perSec != 20 {
		t.Errorf("rate %v/s, want 20", s.perSec)
	}
	all, err := statsOf(ts, time.Time{}, time.Time{})
	if err != nil || all.samples != 5 || all.perSec != 5/0.26 {
		t.Errorf("without a window: %+v, %v; want 5 pulls at %v/s", all, err, 5/0.26)
	}
	if _, err := statsOf(ts, at(400), at(500)); err == nil {
		t.Errorf("a window without pulls: no error")
	}
}

// A comparison's cost column says how much worse A is than B, whichever
// way the unit goes.
func TestComparisonMarkdown(t *testing.T) {
	r := &Report{}
	md := r.comparisonMarkdown(Comparison{Title: "t", A: "all on", B: "all off", Cost: true, Results: []Result{
		{Name: "push", Unit: "MiB/s", Goal: Goal{Ratio: 0.95}, Wharf: []float64{96}, Distr: []float64{100}},
		{Name: "p99", Unit: "ms", LowerBetter: true, Wharf: []float64{11}, Distr: []float64{10}},
		{Name: "pull", Unit: "MiB/s", Goal: Goal{Ratio: 0.95}, Wharf: []float64{90}, Distr: []float64{100}},
	}})
	for _, want := range []string{
		"| row | unit | all on | all off | ratio | target | cost | spread (all on / all off) |",
		"| push | MiB/s | 96 | 100 | 0.96× | ≥ 0.95×: met | +4.0 % | 0% / 0% |",
		"| p99 | ms (lower is better) | 11 | 10 | 1.1× | — | +10.0 % | 0% / 0% |",
		"| pull | MiB/s | 90 | 100 | 0.9× | ≥ 0.95×: missed | +10.0 % |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
}

// The receiver counts the events of distribution's envelope, and the
// bodies that are not one.
func TestReceiver(t *testing.T) {
	r, err := startReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.stop()
	for _, body := range []string{`{"events":[{"action":"push"},{"action":"pull"}]}`, `not json`} {
		res, err := http.Post(r.url, "application/vnd.docker.distribution.events.v1+json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("POST %s: %s", body, res.Status)
		}
	}
	if r.events.Load() != 2 || r.posts.Load() != 2 || r.bad.Load() != 1 {
		t.Errorf("events %d, posts %d, bad %d; want 2, 2, 1", r.events.Load(), r.posts.Load(), r.bad.Load())
	}
}

// The "on" server turns on all three unless told to leave some off; the
// "off" one none; an unknown name is refused.
func TestFeatureConfigs(t *testing.T) {
	for _, tc := range []struct {
		name         string
		without      []string
		want, absent []string
		heading      string
	}{
		{"all", nil, []string{"audit:\n  enabled: true", "metrics:\n  enabled: true\n  addr: \"127.0.0.1:9\"", "url: \"http://127.0.0.1:8/events\""}, nil, "all on"},
		{"without notifications", []string{"notifications"}, []string{"audit:\n  enabled: true", "metrics:\n  enabled: true"}, []string{"notifications:"}, "on, without notifications"},
		{"without audit and metrics", []string{"audit", "metrics"}, []string{"audit:\n  enabled: false", "notifications:"}, []string{"metrics:"}, "on, without audit and metrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			off, on := featureConfigs("127.0.0.1:9", "http://127.0.0.1:8/events", tc.without)
			if off != "audit:\n  enabled: false\nmetrics:\n  enabled: false\n" {
				t.Errorf("off config:\n%s", off)
			}
			for _, w := range tc.want {
				if !strings.Contains(on, w) {
					t.Errorf("on config lacks %q:\n%s", w, on)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(on, a) {
					t.Errorf("on config has %q:\n%s", a, on)
				}
			}
			if got := onName(tc.without); got != tc.heading {
				t.Errorf("heading %q, want %q", got, tc.heading)
			}
		})
	}
	if err := CheckFeatures([]string{"audit", "tracing"}); err == nil || !strings.Contains(err.Error(), `"tracing" is not one of metrics, audit, notifications`) {
		t.Errorf("CheckFeatures(tracing): %v", err)
	}
}
