package bench

import (
	"context"
	"image/png"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/bench/wharfbench"
)

// TestWharfbenchSmoke runs the side-by-side harness with tiny sizes against
// the real wharf and distribution binaries (random loopback ports, and the
// token-auth pair: wharf serve --auth token, distribution behind wharf auth)
// and checks that its page and chart parse: every measured row has two
// positive figures, a ratio and a verdict on its target; the docker rows say
// why they were left out. The garbage-collection pass (wharf gc beside a
// serving wharf, registry garbage-collect offline, on the same set, with
// pulls before and during), the features pass (wharf with metrics,
// audit and notifications off and on), the S3 pass (wharf and distribution
// on one versitygw, pulls redirected and proxied, beside the S3 server's own
// throughput) and the replicas pass (two wharf replicas on one PostgreSQL
// against one) and the proxy pass (cold and warm pulls through wharf's
// pull-through cache, the upstream directly and distribution's proxy mode)
// report their tables the same way. It
// checks the harness, not the speed: no figure is compared with anything.
func TestWharfbenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts wharf and bin/registry: skipped under -short")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	rep, err := wharfbench.Run(ctx, wharfbench.Options{Smoke: true, Dir: t.TempDir(), Progress: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	page, chart, err := rep.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	rows := resultRows(t, md)
	if len(rows) < 23 {
		t.Fatalf("%d result rows, want at least 23:\n%s", len(rows), md)
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if len(r) != 8 {
			t.Errorf("row has %d cells, want 8: %q", len(r), r)
			continue
		}
		name := r[0]
		for _, kind := range rowKinds {
			if strings.Contains(name, kind) {
				seen[kind] = true
			}
		}
		if strings.HasPrefix(name, "docker ") {
			// Left out of smoke runs, and the row must say so.
			if !strings.HasPrefix(r[2], "not measured: ") || !strings.Contains(r[2], "smoke") {
				t.Errorf("docker row %q: want \"not measured: <why>\" naming smoke runs", r)
			}
			continue
		}
		w, errW := strconv.ParseFloat(r[2], 64)
		d, errD := strconv.ParseFloat(r[3], 64)
		ratio, errR := strconv.ParseFloat(strings.TrimSuffix(r[4], "×"), 64)
		if errW != nil || errD != nil || errR != nil || w <= 0 || d <= 0 || ratio <= 0 {
			t.Errorf("row %q: want two positive figures and a positive ratio", r)
		}
		if target := r[5]; target != "—" && !strings.HasSuffix(target, ": met") && !strings.HasSuffix(target, ": missed") && !strings.Contains(target, ": not judged, ") {
			t.Errorf("row %q: target %q: want \"—\" or a goal ending in \": met\", \": missed\" or \": not judged, …\"", r, target)
		}
		if strings.HasPrefix(name, "blob push") || strings.HasPrefix(name, "blob pull GET") || strings.HasPrefix(name, "small images pu") ||
			(strings.HasPrefix(name, "manifest ") && strings.HasSuffix(name, "connections")) {
			if !sharePattern.MatchString(r[6]) {
				t.Errorf("row %q: want shares of the physical limit like \"40 %% / 30 %%\", got %q", r, r[6])
			}
		}
	}
	for _, kind := range rowKinds {
		if !seen[kind] {
			t.Errorf("no %q row:\n%s", kind, md)
		}
	}
	for _, want := range []string{"SHA-256, one core", "sequential write + fsync", "sendfile of that file over loopback",
		"Smoke run", "Not measured: left out of smoke runs", "](benchmarks.png)", "The share column compares push rows with the server that reads and hashes",
		"a server that reads and hashes it (SHA-256)", "A server that only reads and hashes what it is sent",
		"compared with the same workload on an in-memory server", "the same sendfile to 16 readers at once",
		"16-client pull rows with the same sendfile to 16 readers"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	for _, table := range []struct {
		heading string
		rows    []string // a row starting with each
		cells   int
	}{
		{"### Time to collect: wharf online, distribution offline", []string{"collect 50 images (10 untagged"}, 7},
		{"### Pulls from wharf during its collection", []string{"image pull (manifest, config, 2 layers), 2 clients, p50",
			"image pull (manifest, config, 2 layers), 2 clients, p99", "image pull (manifest, config, 2 layers), 2 clients, rate"}, 7},
		{"### The same workloads with metrics, audit and notifications on and off", []string{"blob push, monolithic", "blob pull GET", "small images push",
			"small images pull", "small images pulled again", "peak RSS", "manifest GET by tag", "manifest GET by tag, 64 connections, p50", "manifest GET by tag, 64 connections, p99"}, 8},
		{"### Pulls redirected to presigned URLs (the default of both)", s3Rows, 7},
		{"### Pulls proxied through the registry (`storage.redirect.disable: true`)", s3Rows, 7},
		{"### Small images on two replicas and on one", []string{"small images push, 20 images", "small images pull, 20 images"}, 7},
		{"### Pull-through cache against the upstream and a local pull", []string{"cold pull: through wharf's cache (A) vs directly from the upstream (B)",
			"warm pull: through wharf's cache (A) vs an image pushed into wharf (B)"}, 7},
		{"### wharf's cache beside distribution's proxy mode on the same upstream", []string{"cold pull: wharf's cache (A) vs distribution's proxy mode (B)",
			"warm pull: wharf's cache (A) vs distribution's proxy mode (B)"}, 7},
	} {
		rows := tableRows(t, md, table.heading)
		if len(rows) != len(table.rows) {
			t.Errorf("%s: %d rows, want %d:\n%s", table.heading, len(rows), len(table.rows), md)
			continue
		}
		for i, r := range rows {
			if len(r) != table.cells || !strings.HasPrefix(r[0], table.rows[i]) {
				t.Errorf("%s: row %q: want %d cells, starting with %q", table.heading, r, table.cells, table.rows[i])
				continue
			}
			a, errA := strconv.ParseFloat(r[2], 64)
			b, errB := strconv.ParseFloat(r[3], 64)
			ratio, errR := strconv.ParseFloat(strings.TrimSuffix(r[4], "×"), 64)
			if errA != nil || errB != nil || errR != nil || a <= 0 || b <= 0 || ratio <= 0 {
				t.Errorf("%s: row %q: want two positive figures and a positive ratio", table.heading, r)
			}
		}
	}
	// Every row bound by the in-memory server shows its ceiling, measured
	// in the same run.
	ceilings := tableRows(t, md, "## Ceilings of the small-request rows: an in-memory server (same run)")
	if len(ceilings) != 6 {
		t.Errorf("%d rows of in-memory ceilings, want 6 (small push, small pull, small pull again, token-auth pull, manifest GET, manifest HEAD):\n%s", len(ceilings), md)
	}
	for _, r := range ceilings {
		if v, err := strconv.ParseFloat(r[2], 64); err != nil || v <= 0 || len(r) != 6 || !sharePercent.MatchString(r[3]) {
			t.Errorf("in-memory ceiling row %q: want a positive figure and shares", r)
		}
	}
	for _, want := range []string{"## Garbage collection (gc)", "## Cost of metrics, audit and notifications (features)",
		"wharf deletes the untagged manifests", "the receiver got", "the ratio is the first figure over the second",
		"## Blobs on S3 (s3)", "The S3 server alone (versitygw", "share of the S3 server's own PUT (wharf / distribution): ",
		"Every blob GET was answered by a redirect to a presigned URL", "No pull was redirected (counted)",
		"## Two replicas on one PostgreSQL (replicas)", "The ratio is the scaling factor", "PostgreSQL (all its processes) ",
		"## Pull-through cache (proxy)", "the cache streams each blob to the client while it writes it"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if !loadPattern.MatchString(md) {
		t.Errorf("report gives no load averages:\n%s", md)
	}
	if strings.Contains(md, "left out by `-only") {
		t.Errorf("a run without -only says workloads were left out:\n%s", md)
	}

	f, err := os.Open(chart)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("chart %s: %v", chart, err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 {
		t.Errorf("chart is %v, want at least 400×200", b)
	}
}

// s3Rows are the rows of both tables of the S3 pass.
var s3Rows = []string{"blob push, monolithic POST+PUT, 1 MiB, 1 client", "server CPU time per GiB during blob push, monolithic",
	"S3 server (versitygw) CPU time per GiB during blob push, monolithic", "blob push, chunked PATCH, 1 MiB chunks, 3 MiB blob, 1 client",
	"blob pull GET, 1 MiB, 1 client", "blob pull GET, 1 MiB, 16 concurrent clients"}

// rowKinds are workloads the smoke run must report.
var rowKinds = []string{"blob push, monolithic", "blob push, chunked PATCH", "blob pull GET", "small images push",
	"small images pull,", "small images pulled again", "small images pull with token auth", "blob pull GET with token auth", "peak RSS", "server CPU time per GiB", "manifest GET", "manifest HEAD",
	"tag list", "_catalog", "docker push", "docker pull"}

var loadPattern = regexp.MustCompile(`load average \(1, 5, 15 min\) [0-9.]+, [0-9.]+, [0-9.]+ at the start, [0-9.]+, [0-9.]+, [0-9.]+ at the end`)

var sharePattern = regexp.MustCompile(`^\d+ % / \d+ %$`)

var sharePercent = regexp.MustCompile(`^\d+ %$`)

var separator = regexp.MustCompile(`^\|(\s*-+:?\s*\|)+$`)

// resultRows returns the cells of the data rows of the table under
// "## Results".
func resultRows(t *testing.T, md string) [][]string {
	t.Helper()
	return tableRows(t, md, "## Results")
}

// tableRows returns the cells of the data rows of the table under heading.
func tableRows(t *testing.T, md, heading string) [][]string {
	t.Helper()
	_, after, ok := strings.Cut(md, heading+"\n")
	if !ok {
		t.Fatalf("no %q section:\n%s", heading, md)
	}
	var rows [][]string
	header := true
	for line := range strings.Lines(strings.TrimLeft(after, "\n")) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			break
		}
		if header || separator.MatchString(line) {
			header = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
