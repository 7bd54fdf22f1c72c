package wharfbench

import (
	"regexp"
	"strings"
	"testing"
)

func TestVerdict(t *testing.T) {
	r := &Report{Limits: []Limit{
		{Key: "sha256", Samples: []float64{1000}},
		{Key: "disk", Samples: []float64{500}},
		{Key: "loopback", Samples: []float64{2000}},
	}}
	for _, tc := range []struct {
		res  Result
		want string
	}{
		{Result{Wharf: []float64{10}, Distr: []float64{5}}, "—"},
		{Result{Goal: Goal{Ratio: 2}, Wharf: []float64{10}, Distr: []float64{5}}, "≥ 2×: met"},
		{Result{Goal: Goal{Ratio: 2}, Wharf: []float64{9}, Distr: []float64{5}}, "≥ 2×: missed"},
		{Result{Goal: Goal{Ratio: 0.05}, LowerBetter: true, Wharf: []float64{1}, Distr: []float64{40}}, "≤ 0.05×: met"},
		{Result{Goal: Goal{Ratio: 0.05}, LowerBetter: true, Wharf: []float64{1}, Distr: []float64{10}}, "≤ 0.05×: missed"},
		// 1.3× met, but 300 of min(1000, 500) is 60 %.
		{Result{Goal: Goal{Ratio: 1.3, LimitShare: 0.8}, Ceiling: CeilingPush, Wharf: []float64{300}, Distr: []float64{100}}, "≥ 1.3×, ≥ 80 % of limit: missed"},
		{Result{Goal: Goal{Ratio: 1.3, LimitShare: 0.8}, Ceiling: CeilingPush, Wharf: []float64{450}, Distr: []float64{100}}, "≥ 1.3×, ≥ 80 % of limit: met"},
		{Result{Goal: Goal{Ratio: 1.2, LimitShare: 0.8}, Ceiling: CeilingPull, Wharf: []float64{1500}, Distr: []float64{1000}}, "≥ 1.2×, ≥ 80 % of limit: missed"},
		{Result{Goal: Goal{Ratio: 2}, NotMeasured: "no dockerd"}, "≥ 2×: not measured"},
	} {
		if got := r.Verdict(tc.res); got != tc.want {
			t.Errorf("Verdict(%+v) = %q, want %q", tc.res, got, tc.want)
		}
	}
}

// A run that -only limited to the manifest workloads says nothing about
// pushes and lists what it left out.
func TestMarkdownOnly(t *testing.T) {
	o := Options{Only: regexp.MustCompile("manifest")}.withDefaults()
	r := &Report{Opts: o,
		Results: []Result{{Name: "manifest GET by tag, 64 connections", Unit: "requests/s", Goal: Goal{Ratio: 2}, Wharf: []float64{3}, Distr: []float64{1}}},
		Limits: []Limit{
			{Key: "sha256", Name: "SHA-256", Unit: "MiB/s", Samples: []float64{1000}},
			{Key: "disk", Name: "disk", Unit: "MiB/s", Samples: []float64{500}},
			{Key: "loopback", Name: "loopback", Unit: "MiB/s", Samples: []float64{2000}},
			{Key: "receive-sha256", Name: "receive and hash", Unit: "MiB/s", Samples: []float64{400}},
		},
		LeftOut: []string{"blob push, monolithic POST+PUT, 64 MiB blob, 1 client", tokenIssuanceName},
	}
	md := r.Markdown("")
	for _, bad := range []string{"push rows with", "pull rows with", "Monolithic push", "![", "Not measured yet", "reads and hashes"} {
		if strings.Contains(md, bad) {
			t.Errorf("page says %q though no such row ran:\n%s", bad, md)
		}
	}
	for _, want := range []string{"| manifest GET by tag, 64 connections | requests/s | 3 | 1 | 3× | ≥ 2×: met | — |",
		"left out by `-only manifest`): blob push, monolithic POST+PUT, 64 MiB blob, 1 client; " + tokenIssuanceName} {
		if !strings.Contains(md, want) {
			t.Errorf("page lacks %q:\n%s", want, md)
		}
	}
}
