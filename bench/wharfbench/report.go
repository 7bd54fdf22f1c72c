package wharfbench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is (max − min) / median: how far apart the rounds were.
func spread(xs []float64) string {
	m := median(xs)
	if m == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", (slices.Max(xs)-slices.Min(xs))/m*100)
}

// num prints three significant digits without an exponent.
func num(v float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// limit is the median of the physical limit with this key, or 0.
func (r *Report) limit(key string) float64 {
	for _, l := range r.Limits {
		if l.Key == key {
			return median(l.Samples)
		}
	}
	return 0
}

// ceiling is the median of the physical limit a row is compared with, or
// of the in-memory server's samples of the row itself; 0 without one.
func (r *Report) ceiling(res Result) float64 {
	switch res.Ceiling {
	case CeilingMemory:
		return median(res.Memory)
	case CeilingPush:
		return r.limit("receive-sha256")
	case CeilingPull:
		return r.limit("loopback")
	case CeilingPull16:
		return r.limit("loopback-16")
	}
	return 0
}

// Verdict is a row's target and whether wharf met it: "—" without a target.
func (r *Report) Verdict(res Result) string {
	g := res.Goal
	if g.Ratio == 0 && g.LimitShare == 0 {
		return "—"
	}
	var want []string
	met := true
	wm, dm := median(res.Wharf), median(res.Distr)
	if g.Ratio > 0 {
		ratio := 0.0
		if dm > 0 {
			ratio = wm / dm
		}
		if res.LowerBetter {
			want = append(want, "≤ "+num(g.Ratio)+"×")
			met = met && dm > 0 && ratio <= g.Ratio
		} else {
			want = append(want, "≥ "+num(g.Ratio)+"×")
			met = met && dm > 0 && ratio >= g.Ratio
		}
	}
	// A share above 100 % means the limit's probe measured less than the
	// workload it bounds: it was disturbed in this run (a disk that wrote
	// at a fifth of its speed for two rounds), and the share proves
	// nothing either way.
	disturbed := false
	if g.LimitShare > 0 {
		want = append(want, fmt.Sprintf("≥ %.0f %% of limit", g.LimitShare*100))
		c := r.ceiling(res)
		met = met && c > 0 && wm/c >= g.LimitShare
		disturbed = c > 0 && wm > c
	}
	verdict := "missed"
	switch {
	case res.NotMeasured != "" || len(res.Wharf) == 0 || len(res.Distr) == 0:
		verdict = "not measured"
	case disturbed:
		verdict = "not judged, above 100 % of a limit whose probe was disturbed"
	case met:
		verdict = "met"
	}
	return strings.Join(want, ", ") + ": " + verdict
}

// Markdown is docs/benchmarks.md: how to regenerate it, the machine, the
// results table with targets, the physical limits and how to read them.
// chart, when set, is the file name of the PNG chart beside it.
func (r *Report) Markdown(chart string) string {
	o := r.Opts
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks: wharf and distribution side by side\n\n")
	p("Regenerate this page with `make bench` (`go run ./bench/cmd/wharfbench -write`; flags: `-help`;\n")
	p("`make bench PROFILE=1` also takes CPU and allocation profiles of both servers).\n")
	p("It builds wharf from the working tree, starts it and the real distribution registry (`bin/registry`,\n")
	p("installed by `make deps`) on loopback, with filesystem storage in one temporary directory (same disk),\n")
	p("and runs every workload against both in the same run, alternating which goes first, %d round(s).\n", o.Rounds)
	p("Each figure is the median over rounds; spread is (max − min) / median over rounds.\n")
	p("What the profiles showed and what was changed in the registry because of them: [performance.md](performance.md).\n\n")
	if o.Smoke {
		p("**Smoke run: tiny sizes, one round. These numbers check the harness and measure nothing.**\n\n")
	}
	p("- date: %s; duration of the run: %s\n", r.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(1e9))
	p("- CPU: %s, %d cores (client and both servers share them); load average (1, 5, 15 min) %s at the start, %s at the end\n", r.CPU, r.Cores, r.LoadBefore, r.LoadAfter)
	p("- Go: %s; wharf: %s; peer: %s\n", r.GoVersion, r.Wharf, r.Distribution)
	p("- wharf: `serve --auth none --tls off` with the defaults (audit log on, metrics and notifications off); distribution: filesystem storage, delete enabled, in-memory blob descriptor cache, no auth, log level info\n")
	p("- token auth rows: `wharf serve --auth token` (token server in the same process) against distribution with `auth.token` and `wharf auth` (a docker_auth configuration) as its token server; one user, bcrypt cost 10\n")
	p("- sizes: %s blobs, %d push(es) and pull(s) per round; %s monolithic and %s chunked (%s chunks) pushes; %d small images of 3 × %s layers from %d clients; docker image of %d layers, %s; %d tags, %d repositories; manifest workloads %s at %d connections; garbage collection of %d images with %d clients pulling, %d round(s)\n\n",
		sizeName(o.BlobSize), o.Pushes, sizeName(o.BigSize), sizeName(o.ChunkedSize), sizeName(o.ChunkSize),
		o.SmallImages, sizeName(o.SmallLayer), o.SmallClients, o.DockerLayers, sizeName(o.DockerSize), o.Tags, o.Repos, o.Duration, o.Conns,
		o.GCImages, o.GCClients, o.GCRounds)
	if chart != "" {
		p("![Throughput, wharf and distribution](%s)\n\n", chart)
	}

	if len(r.Results) > 0 {
		b.WriteString(r.resultsMarkdown())
	}

	p("\n## Token issuance (wharf only)\n\n")
	switch t := r.Tokens; {
	case t.NotMeasured != "":
		p("Not measured: %s.\n", t.NotMeasured)
	case t.CacheOff > 0:
		p("`BenchmarkTokenIssuance` (`make bench-token`), in the same run: one user asking for pull and push on one repository, bcrypt cost 10.\n\n")
		p("| credential cache | tokens/s |\n|---|---:|\n| off | %s |\n| on | %s |\n\nThe cache makes issuance %s× faster.\n",
			num(t.CacheOff), num(t.CacheOn), num(t.CacheOn/t.CacheOff))
	default:
		p("Not measured in this run (left out by `-only`).\n")
	}

	b.WriteString(r.comparisonsMarkdown())

	p("\n## How to read this\n\n")
	p("- Throughputs (MiB/s, images/s, requests/s): higher is better, a ratio above 1× favours wharf. Times (ms, s) and memory (MiB): lower is better, a ratio below 1× favours wharf.\n")
	if len(r.Comparisons) > 0 {
		p("- In the garbage-collection, features, S3 and replicas tables the ratio is the first figure over the second (wharf / distribution, during gc / idle, on / off, two replicas / one), and so is the target.\n")
	}
	p("- Targets are wharf/distribution ratios of the same run (a list row's ≤ 0.05× is \"at least 20 times faster\"); \"of limit\" is wharf's share of the row's physical limit. A share above 100 %% means that limit's probe measured less than the workload it bounds (it was disturbed in that run, as a disk that writes at a fifth of its speed for a round): the row is then \"not judged\" rather than met.\n")
	p("- The client is plain `net/http` in the same process tree and never sleeps; on a small machine it competes with the server for CPU, which caps every figure.\n")
	p("- Pushes write and hash their random blobs before the clock starts and stream them from that file; pulls check the length of what they receive, not its digest.\n")
	p("- The CPU rows of the large push: the server's CPU time per GiB (all its threads, from the scheduler's statistics), and how busy all cores were while the push ran, with anything (client, server, kernel; from /proc/stat). Cores near 100 %% busy mean the push is bound by the CPU the client and server share, not by the disk or by waiting in the registry.\n")
	p("- Before each timed workload, and after its untimed set-up, the harness flushes everything dirty to disk (`sync`): otherwise the next push pays for writing out the client's generated blob, or what the previous server left in the page cache. That matters because wharf fsyncs each blob before acknowledging it and distribution does not, so only wharf paid.\n")
	p("- The %s monolithic pushes of a round take turns, one push per server at a time (wharf, distribution, distribution, wharf, …); a round's figure is each server's total over its turns. Each push is short, and what it costs the kernel to grow the page cache (on a virtual machine, fresh memory can fault in from the host) changes from second to second: taking turns gives both servers the same machine. The single-client pulls take turns the same way, %d pulls of the blob per turn.\n", sizeName(o.BlobSize), o.Pushes)
	p("- Each pull measurement starts with an untimed pass (one GET per client), so the timed GETs find their connections open and the server warm, whatever ran before (the progress log prints the untimed pass's rate beside the timed one).\n")
	p("- Small images: each client HEADs every blob, pushes it (POST+PUT), then PUTs the manifest, as docker and crane do; a pull GETs the manifest by tag, the config and the layers. With token auth, each image first gets its own pull token from the token server, as `docker pull` does; so does each GET of the blob pull with token auth.\n")
	p("- Peak RSS is the server's VmHWM (/proc/PID/status), reset through /proc/PID/clear_refs before the workload.\n")
	p("- docker push and pull run the real Docker daemon (a private dockerd, vfs storage) on an image loaded from a generated archive; their wall time includes docker's own work (gzip of each layer on push, unpacking on pull), the same for both servers.\n")
	p("- The disk probe writes %d MiB in 1 MiB writes and fsyncs once; the page cache makes it an upper bound for short bursts, not for a sustained stream. The loopback probe then sends that file (from the page cache) with sendfile to one reader, which reads it in 1 MiB reads as the pull client does; it does so %d times per round, on a new connection each time, and the limit is the median of all sends (one send moves by half from the next); it then sends it to 16 readers at once, once per round, the ceiling of the 16-client pulls. The receive probes PUT it with the benchmarks' client to a plain net/http server that reads the body and discards it, and to one that also hashes it (SHA-256 on a second goroutine while the next 1 MiB is read, as a registry does): no push can beat them on the same machine, since a push also writes and syncs every byte (with client and server sharing %d cores, both are often below min(SHA-256, disk)).\n", o.LimitMiB, loopbackSends, runtime.NumCPU())
	if len(r.LeftOut) > 0 {
		p("- Not measured in this run (left out by `-only %s`): %s.\n", o.Only, strings.Join(r.LeftOut, "; "))
	}
	return b.String()
}

func (r *Report) hasCeiling(c Ceiling) bool {
	for _, res := range r.Results {
		if res.Ceiling == c && res.NotMeasured == "" {
			return true
		}
	}
	return false
}

// Write writes the page and its chart into dir as benchmarks.md and
// benchmarks.png, and returns their paths; chart is "" when the run
// measured no throughput row side by side (-only gc), and no chart is
// written.
func (r *Report) Write(dir string) (page, chart string, err error) {
	page = filepath.Join(dir, "benchmarks.md")
	if r.hasThroughput() {
		png, err := r.Chart()
		if err != nil {
			return "", "", err
		}
		chart = filepath.Join(dir, "benchmarks.png")
		if err := os.WriteFile(chart, png, 0o644); err != nil {
			return "", "", fmt.Errorf("wharfbench: %w", err)
		}
	}
	if err := os.WriteFile(page, []byte(r.Markdown(filepath.Base(chart))), 0o644); err != nil {
		return "", "", fmt.Errorf("wharfbench: %w", err)
	}
	return page, chart, nil
}

// resultsMarkdown is the main table, wharf against distribution, and the
// physical limits beside it.
func (r *Report) resultsMarkdown() string {
	o := r.Opts
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Results\n\n")
	p("| workload | unit | wharf | distribution | wharf/distribution | target | share of physical limit (wharf / distribution) | spread (wharf / distribution) |\n")
	p("|---|---|---:|---:|---:|---|---:|---|\n")
	for _, res := range r.Results {
		unit := res.Unit
		if res.LowerBetter {
			unit += " (lower is better)"
		}
		if res.NotMeasured != "" {
			p("| %s | %s | not measured: %s | not measured | n/a | %s | — | — |\n", res.Name, unit, res.NotMeasured, r.Verdict(res))
			continue
		}
		wm, dm := median(res.Wharf), median(res.Distr)
		ratio := "n/a"
		if dm > 0 {
			ratio = num(wm/dm) + "×"
		}
		share := "—"
		if c := r.ceiling(res); c > 0 {
			share = fmt.Sprintf("%.0f %% / %.0f %%", wm/c*100, dm/c*100)
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s / %s |\n", res.Name, unit, num(wm), num(dm), ratio, r.Verdict(res), share, spread(res.Wharf), spread(res.Distr))
	}
	p("\n## Physical limits (same run)\n\n")
	p("| limit | unit | median | spread |\n|---|---|---:|---|\n")
	for _, l := range r.Limits {
		p("| %s (%d MiB) | %s | %s | %s |\n", l.Name, o.LimitMiB, l.Unit, num(median(l.Samples)), spread(l.Samples))
	}
	var kinds []string
	if c := r.ceiling(Result{Ceiling: CeilingPush}); c > 0 && r.hasCeiling(CeilingPush) {
		kinds = append(kinds, fmt.Sprintf("push rows with the server that reads and hashes the PUT and stores nothing = %s MiB/s", num(c)))
	}
	if c := r.ceiling(Result{Ceiling: CeilingPull}); c > 0 && r.hasCeiling(CeilingPull) {
		kinds = append(kinds, fmt.Sprintf("single-client pull rows with the loopback sendfile read = %s MiB/s", num(c)))
	}
	if c := r.ceiling(Result{Ceiling: CeilingPull16}); c > 0 && r.hasCeiling(CeilingPull16) {
		kinds = append(kinds, fmt.Sprintf("16-client pull rows with the same sendfile to 16 readers = %s MiB/s", num(c)))
	}
	if len(kinds) > 0 {
		p("\nThe share column compares %s.\n", strings.Join(kinds, "; "))
	}
	if r.hasCeiling(CeilingMemory) {
		p("Rows of small requests are compared with the same workload on an in-memory server, run in the same round right after wharf and distribution (table below).\n")
	}
	if sha, disk, h := r.limit("sha256"), r.limit("disk"), r.limit("receive-sha256"); sha > 0 && disk > 0 && h > 0 && r.hasCeiling(CeilingPush) {
		c := min(sha, disk)
		p("A server that only reads and hashes what it is sent, storing nothing (the last probe), reached %.0f %% of min(SHA-256, disk): "+
			"on this machine, with this client, no push that verifies its digest gets past that share, whatever it does with the bytes.\n", h/c*100)
	}
	if r.hasCeiling(CeilingMemory) {
		p("\n## Ceilings of the small-request rows: an in-memory server (same run)\n\n")
		p("| workload | unit | in-memory server | wharf's share | distribution's share | spread |\n|---|---|---:|---:|---:|---|\n")
		for _, res := range r.Results {
			if res.Ceiling != CeilingMemory || res.NotMeasured != "" || len(res.Memory) == 0 {
				continue
			}
			c := median(res.Memory)
			p("| %s | %s | %s | %.0f %% | %.0f %% | %s |\n", res.Name, res.Unit, num(c), median(res.Wharf)/c*100, median(res.Distr)/c*100, spread(res.Memory))
		}
		p("\nA plain net/http handler in a process of its own answers the same requests from maps in memory, with the same headers: blob HEAD, POST+PUT of each blob (its digest verified, nothing written to disk), manifest PUT, manifest GET by tag and HEAD by digest, blob GET. ")
		p("For the token-auth row it also verifies every request's token with wharf's own verifier, uncached, and the tokens come from `wharf auth`. No registry that stores and indexes what it is sent can beat it with this client on this machine.\n\n")
	}
	return b.String()
}
