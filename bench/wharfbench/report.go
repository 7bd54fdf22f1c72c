package wharfbench

import (
	"fmt"
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

// Markdown is docs/benchmarks.md: how to regenerate it, the machine, the
// results table, the physical limits and how to read them.
func (r *Report) Markdown() string {
	o := r.Opts
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks: wharf and distribution side by side\n\n")
	p("Regenerate this page with `make bench` (`go run ./bench/cmd/wharfbench -write`; flags: `-help`).\n")
	p("It builds wharf from the working tree, starts it and the real distribution registry (`bin/registry`,\n")
	p("installed by `make deps`) on loopback, with filesystem storage in one temporary directory (same disk),\n")
	p("and runs every workload against both in the same run, alternating which goes first, %d round(s).\n", o.Rounds)
	p("Each figure is the median over rounds; spread is (max − min) / median over rounds.\n\n")
	if o.Smoke {
		p("**Smoke run: tiny sizes, one round. These numbers check the harness and measure nothing.**\n\n")
	}
	p("- date: %s; duration of the run: %s\n", r.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(1e9))
	p("- CPU: %s, %d cores (client and both servers share them)\n", r.CPU, r.Cores)
	p("- Go: %s; wharf: %s; peer: %s\n", r.GoVersion, r.Wharf, r.Distribution)
	p("- wharf: `serve --auth none --tls off`; distribution: filesystem storage, delete enabled, in-memory blob descriptor cache, no auth, log level info\n")
	p("- sizes: %s blobs, %d push(es) and pull(s) per round, %d tags, %d repositories, manifest workloads %s at %d connections\n\n",
		sizeName(o.BlobSize), o.Pushes, o.Tags, o.Repos, o.Duration, o.Conns)

	p("## Results\n\n")
	p("| workload | unit | wharf | distribution | wharf/distribution | spread (wharf / distribution) |\n")
	p("|---|---|---:|---:|---:|---|\n")
	for _, res := range r.Results {
		wm, dm := median(res.Wharf), median(res.Distr)
		ratio := "n/a"
		if dm > 0 {
			ratio = num(wm/dm) + "×"
		}
		unit := res.Unit
		if res.LowerBetter {
			unit += " (lower is better)"
		}
		p("| %s | %s | %s | %s | %s | %s / %s |\n", res.Name, unit, num(wm), num(dm), ratio, spread(res.Wharf), spread(res.Distr))
	}
	p("\n## Physical limits (same run)\n\n")
	p("| limit | unit | median | spread |\n|---|---|---:|---|\n")
	ceiling := 0.0
	for _, l := range r.Limits {
		m := median(l.Samples)
		if ceiling == 0 || m < ceiling {
			ceiling = m
		}
		p("| %s (%d MiB) | %s | %s | %s |\n", l.Name, o.LimitMiB, l.Unit, num(m), spread(l.Samples))
	}
	if len(r.Results) > 0 && ceiling > 0 {
		push := r.Results[0]
		p("\nMonolithic push as a share of min(SHA-256, disk) = %s MiB/s: wharf %.0f %%, distribution %.0f %%.\n",
			num(ceiling), median(push.Wharf)/ceiling*100, median(push.Distr)/ceiling*100)
	}
	p("\n## How to read this\n\n")
	p("- Throughputs (MiB/s, requests/s): higher is better, a ratio above 1× favours wharf. Times (ms): lower is better, a ratio below 1× favours wharf.\n")
	p("- The client is plain `net/http` in the same process tree and never sleeps; on a small machine it competes with the server for CPU, which caps every figure.\n")
	p("- Pushes generate and hash their random blobs before the clock starts; pulls check the length of what they receive, not its digest.\n")
	p("- The disk probe writes %d MiB in 1 MiB writes and fsyncs once; the page cache makes it an upper bound for short bursts, not for a sustained stream.\n", o.LimitMiB)
	p("- Not measured yet (issue 5): 1 GiB and chunked pushes, many small images, token auth on both sides, peak RSS, docker push/pull, the loopback sendfile ceiling, a chart, profiles.\n")
	return b.String()
}
