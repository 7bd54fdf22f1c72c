package ui

import (
	"context"
	"strconv"
	"strings"
	"time"

	"wharf/internal/metadata"
)

// The storage's growth is drawn from the rows metadata keeps per namespace
// and day. The usage page writes today's rows if it is the first in this
// process to count the namespaces that day (the server's daily pass
// usually is); the database keeps the first count of a day and ignores the
// others, so replicas may all write.

// growthDays is how far back the growth chart reaches; it spans at least
// minGrowthDays, so that a few recorded days are drawn as days, not
// stretched over the width.
const growthDays, minGrowthDays = 365, 30

// growthPoint is one recorded day of the growth chart.
type growthPoint struct {
	X, Y         int
	Label, Value string
	Repositories int64
}

// gchart is the storage used over time, as a line over a filled area.
type gchart struct {
	// Namespace is the namespace drawn, "" for all of them.
	Namespace                 string
	Width, Height, Left, Base int
	Points                    []growthPoint
	Line, Area                string
	// First and Last are the first and last recorded days; Start and
	// Today the chart's edges, written at FirstX and LastX.
	First, Last, Top, Growth    string
	Start, Today                string
	FirstX, LastX, TopY, LabelY int
	Shrank                      bool
}

// recordUsage writes today's usage of ns unless this process did today
// (metadata.Store.RecordUsageToday). A failure is logged: the page is
// drawn all the same, and the next page tries again.
func (u *UI) recordUsage(ctx context.Context, now time.Time, ns []metadata.NamespaceStats) {
	n, err := u.cfg.Meta.RecordUsageToday(ctx, now, func(context.Context) ([]metadata.NamespaceStats, error) { return ns, nil })
	if err != nil {
		u.log.WarnContext(ctx, "web interface: recording today's storage per namespace failed", "err", err)
		return
	}
	if n > 0 {
		u.log.InfoContext(ctx, "web interface: recorded today's storage per namespace", "day", now.UTC().Format(time.DateOnly), "rows", n)
	}
}

// growth draws namespace's storage ("" for every namespace's) over the
// recorded days of the last growthDays, today at the right edge and the
// first recorded day (or minGrowthDays ago, if later) at the left.
func (u *UI) growth(ctx context.Context, now time.Time, namespace string) (gchart, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	days, err := u.cfg.Meta.UsageHistory(ctx, namespace, today.AddDate(0, 0, -(growthDays-1)))
	if err != nil {
		return gchart{}, err
	}
	return growthChart(namespace, today, days), nil
}

func growthChart(namespace string, today time.Time, days []metadata.UsageDay) gchart {
	c := gchart{Namespace: namespace, Width: 760, Height: 215, Left: 70, Base: 185, LabelY: 205, TopY: 14}
	if len(days) == 0 {
		return c
	}
	first := days[0].Day
	if edge := today.AddDate(0, 0, -(minGrowthDays - 1)); edge.Before(first) {
		first = edge
	}
	span := max(1, int(today.Sub(first)/(24*time.Hour)))
	var top int64 = 1
	for _, d := range days {
		top = max(top, d.Bytes)
	}
	plot := c.Width - c.Left - 20
	var line []string
	for _, d := range days {
		x := c.Left + int(d.Day.Sub(first)/(24*time.Hour))*plot/span
		y := c.Base - int(float64(d.Bytes)/float64(top)*float64(c.Base-c.TopY))
		c.Points = append(c.Points, growthPoint{X: x, Y: y, Label: d.Day.Format(time.DateOnly), Value: humanBytes(d.Bytes), Repositories: d.Repositories})
		line = append(line, strconv.Itoa(x)+","+strconv.Itoa(y))
	}
	firstP, lastP := c.Points[0], c.Points[len(c.Points)-1]
	c.Line = strings.Join(line, " ")
	c.Area = strconv.Itoa(firstP.X) + "," + strconv.Itoa(c.Base) + " " + c.Line + " " + strconv.Itoa(lastP.X) + "," + strconv.Itoa(c.Base)
	c.First, c.Last, c.FirstX, c.LastX = firstP.Label, lastP.Label, c.Left, c.Left+plot
	c.Start, c.Today = first.Format(time.DateOnly), today.Format(time.DateOnly)
	c.Top = humanBytes(top)
	change := days[len(days)-1].Bytes - days[0].Bytes
	c.Shrank = change < 0
	c.Growth = humanBytes(max(change, -change))
	return c
}
