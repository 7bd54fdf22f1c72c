package wharfbench

import (
	"fmt"
	"regexp"
	"strings"
)

// Comparison is a table of rows that set two sides other than wharf and
// distribution against each other: wharf's collection against
// distribution's, pulls during a collection against idle ones, wharf with
// metrics, audit and notifications on against all of them off. Each row is
// a Result whose Wharf samples are column A and whose Distr samples are
// column B, so the ratio A/B and the verdict on its goal are worked out as
// in the main table.
type Comparison struct {
	// Section groups tables under one heading; Title is the table's own.
	Section, Title string
	A, B           string // column headings
	// Cost adds a column: how much worse A is than B, in percent (a
	// throughput A lower than B, a time A higher).
	Cost    bool
	Results []Result
	Notes   []string // lines under the table
}

// The headings of the passes that run after the main table; -only
// selects a pass when it matches its heading.
const (
	gcSection       = "Garbage collection (gc)"
	featuresSection = "Cost of metrics, audit and notifications (features)"
	s3Section       = "Blobs on S3 (s3)"
	replicasSection = "Two replicas on one PostgreSQL (replicas)"
)

// wanted says whether a run selects the pass headed title.
func wanted(only *regexp.Regexp, title string) bool { return only == nil || only.MatchString(title) }

// comparisonMarkdown renders the comparison's table and notes.
func (r *Report) comparisonMarkdown(c Comparison) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("### %s\n\n", c.Title)
	cost, costSep := "", ""
	if c.Cost {
		cost, costSep = " cost |", "---:|"
	}
	p("| row | unit | %s | %s | ratio | target |%s spread (%s / %s) |\n", c.A, c.B, cost, c.A, c.B)
	p("|---|---|---:|---:|---:|---|%s---|\n", costSep)
	for _, res := range c.Results {
		unit := res.Unit
		if res.LowerBetter {
			unit += " (lower is better)"
		}
		a, bm := median(res.Wharf), median(res.Distr)
		ratio, worse := "n/a", "n/a"
		if bm > 0 && len(res.Wharf) > 0 {
			ratio = num(a/bm) + "×"
			w := (1 - a/bm) * 100
			if res.LowerBetter {
				w = -w
			}
			worse = fmt.Sprintf("%+.1f %%", w)
		}
		if c.Cost {
			worse = " " + worse + " |"
		} else {
			worse = ""
		}
		p("| %s | %s | %s | %s | %s | %s |%s %s / %s |\n", res.Name, unit, num(a), num(bm), ratio, r.Verdict(res), worse, spread(res.Wharf), spread(res.Distr))
	}
	if len(c.Notes) > 0 {
		p("\n")
		for _, n := range c.Notes {
			p("- %s\n", n)
		}
	}
	return b.String()
}

// comparisonsMarkdown renders every comparison, one heading per section.
func (r *Report) comparisonsMarkdown() string {
	var b strings.Builder
	section := ""
	for _, c := range r.Comparisons {
		if c.Section != section {
			section = c.Section
			fmt.Fprintf(&b, "\n## %s\n\n", section)
		} else {
			b.WriteString("\n")
		}
		b.WriteString(r.comparisonMarkdown(c))
	}
	return b.String()
}
