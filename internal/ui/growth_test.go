package ui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// TestUsageGrowth: the usage page records today's storage per namespace
// (once: a second page of the day writes nothing and the day keeps one
// row) and draws every recorded day of the last year as a line over an
// area, of every namespace or of the one ?ns= names, which the namespace
// bars link to — as SVG without a style attribute.
func TestUsageGrowth(t *testing.T) {
	e := newEnv(t)
	e.push("team/app", "v1")
	e.push("solo", "v1")
	ctx := t.Context()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for i, back := range []int{30, 20, 10} {
		_, err := e.meta.RecordUsage(ctx, today.AddDate(0, 0, -back), []metadata.NamespaceStats{
			{Namespace: "team/", Bytes: int64(1000 * (i + 1)), Repositories: 1},
			{Namespace: "solo", Bytes: 500, Repositories: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Older than the chart reaches: kept, not drawn.
	if _, err := e.meta.RecordUsage(ctx, today.AddDate(0, 0, -growthDays-5), []metadata.NamespaceStats{{Namespace: "team/", Bytes: 7}}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	p := usagePage(t, b, "")
	for _, back := range []int{30, 20, 10, 0} {
		mustContain(t, p, "<title>"+today.AddDate(0, 0, -back).Format(time.DateOnly)+": ")
	}
	if strings.Contains(p.body, today.AddDate(0, 0, -growthDays-5).Format(time.DateOnly)) {
		t.Error("a day older than the chart's year is drawn")
	}
	points := regexp.MustCompile(`<circle class="point" cx="(\d+)" cy="(\d+)"`).FindAllStringSubmatch(p.body, -1)
	if len(points) != 4 {
		t.Fatalf("%d points drawn, want 4 (three recorded days and today)\n%s", len(points), p.body)
	}
	mustContain(t, p, `<svg class="chart" id="growth"`, `<polyline class="line" points="`, `<polygon class="area" points="`,
		`<title>`+today.AddDate(0, 0, -30).Format(time.DateOnly)+`: 1.5 KiB in 2 repositories</title>`,
		`<a href="/ui/admin/usage?ns=team%2f#growth-title" aria-label="team/: `)

	// Today is recorded once, and the page records nothing more today.
	todays := func(ns string) []metadata.UsageDay {
		t.Helper()
		days, err := e.meta.UsageHistory(ctx, ns, today)
		if err != nil {
			t.Fatal(err)
		}
		return days
	}
	if got := todays("team/"); len(got) != 1 || got[0].Repositories != 1 || got[0].Bytes <= 0 {
		t.Fatalf("today's row of team/: %+v", got)
	}
	e.push("team/db", "v1")
	b.get("/ui/admin/usage")
	if got := todays("team/"); len(got) != 1 || got[0].Repositories != 1 {
		t.Errorf("a second page of the day changed today's row: %+v", got)
	}
	if n := strings.Count(e.logs.String(), "recorded today's storage per namespace"); n != 1 {
		t.Errorf("today recorded %d times by this server, want once", n)
	}

	// One namespace's own line.
	ns := b.get("/ui/admin/usage?ns=solo")
	mustContain(t, ns, "Storage over time: solo", `href="/ui/admin/usage#growth-title">Every namespace</a>`,
		"<title>"+today.AddDate(0, 0, -10).Format(time.DateOnly)+": 500 B in 1 repositories</title>")
	if strings.Contains(ns.body, "1.5 KiB in 2 repositories") {
		t.Error("?ns=solo draws every namespace's sum")
	}
	mustContain(t, b.get("/ui/admin/usage?ns=%3Cb%3Enone"), "No day is recorded for &lt;b&gt;none yet.")
}

// TestGrowthChart: the first recorded day is at the left edge, today at
// the right, the largest day at the top and nothing at the base; the
// summary says how much it grew or shrank. A chart spans 30 days at
// least: a day recorded today alone is at the right edge.
func TestGrowthChart(t *testing.T) {
	today := time.Date(2026, 5, 11, 0, 0, 0, 0, time.UTC)
	c := growthChart("", today, []metadata.UsageDay{
		{Day: today.AddDate(0, 0, -60), Bytes: 0},
		{Day: today.AddDate(0, 0, -30), Bytes: 2048},
		{Day: today, Bytes: 1024},
	})
	want := fmt.Sprintf("%d,%d %d,%d %d,%d", c.Left, c.Base, c.Left+(c.Width-c.Left-20)/2, c.TopY, c.Width-20, (c.Base+c.TopY+1)/2)
	if c.Line != want {
		t.Errorf("line %q, want %q", c.Line, want)
	}
	if c.Area != fmt.Sprintf("%d,%d %s %d,%d", c.Left, c.Base, want, c.Width-20, c.Base) {
		t.Errorf("area %q", c.Area)
	}
	if c.Shrank || c.Growth != "1.0 KiB" || c.Top != "2.0 KiB" || c.First != "2026-03-12" || c.Last != "2026-05-11" || c.Start != c.First {
		t.Errorf("summary: %+v", c)
	}
	if c := growthChart("", today, []metadata.UsageDay{{Day: today, Bytes: 5}}); c.Line != fmt.Sprintf("%d,%d", c.Width-20, c.TopY) || c.Start != "2026-04-12" {
		t.Errorf("today alone: line %q from %s", c.Line, c.Start)
	}
	if c := growthChart("", today, []metadata.UsageDay{{Day: today, Bytes: 9}, {Day: today, Bytes: 3}}); !c.Shrank || c.Growth != "6 B" {
		t.Errorf("a shrinking namespace: shrank %v by %s", c.Shrank, c.Growth)
	}
	if c := growthChart("x/", today, nil); c.Points != nil || c.Line != "" {
		t.Errorf("no days: %+v", c)
	}
}
