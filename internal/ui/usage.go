package ui

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"wharf/internal/errcode"
	"wharf/internal/events"
	"wharf/internal/metadata"
)

// The usage page draws two pictures as SVG in the page, made here: no
// script, and no style attribute (the CSP forbids inline styles): the
// stylesheet's classes colour them, in light and dark mode alike.

const (
	// maxNamespaceBars bounds the namespaces drawn (the largest).
	maxNamespaceBars = 30
	// activityDays is how many days the pushes and pulls picture shows;
	// maxActivityRecords bounds the audit records read to draw it.
	activityDays       = 14
	maxActivityRecords = 20000
)

// hbar is one bar of a horizontal bar chart: a label, its length and the
// value written for people.
type hbar struct {
	Label, Value string
	// Y is the bar's top, TextY its labels' baseline, ValueX where its
	// figure is written.
	Y, TextY, Width, ValueX int
}

// hchart is a horizontal bar chart, one row per bar.
type hchart struct {
	Width, Height, LabelWidth, BarMax int
	Bars                              []hbar
}

// day is one day of the activity chart: its bars' heights and figures.
type day struct {
	// Label is the day (MM-DD), written at LabelX under its bars.
	Label               string
	LabelX              int
	X, PushY, PushH     int
	PullX, PullY, PullH int
	Pushes, Pulls       int64
}

// vchart is the pushes and pulls per day.
type vchart struct {
	Width, Height, Base, BarWidth, LabelY int
	Days                                  []day
	Max                                   int64
	// Partial is set when more audit records than are read fall in the
	// period: the oldest days are then undercounted.
	Partial bool
}

type usageData struct {
	Session    *session
	Namespaces hchart
	Total      string
	More       int
	Activity   vchart
	// Growth is the storage used over time, of every namespace or of the
	// one ?ns= names.
	Growth gchart
	// GC is the garbage collector's status as the admin API shows it,
	// indented JSON ("" where the server collects none).
	GC string
	// Retention is set where the retention policies can be dry-run.
	Retention bool
	// Quotas are the quotas with their usage, nil without quotas.
	Quotas []quotaRow
	// Mirrors is the pull-through cache, nil without one.
	Mirrors *Mirrors
}

// QuotaUsage is one quota of wharf.yml with what it counts now, as `wharf
// quota ls` lists it.
type QuotaUsage struct {
	Pattern      string
	Limit, Usage int64
	Repositories int
}

// Mirrors is the pull-through cache as the usage page shows it: what it
// did since the server started, and each upstream's pull limit as the
// upstream last announced it (-1: never announced).
type Mirrors struct {
	ManifestFetches, BlobFetches, Revalidations, Hits, Stale int64
	Upstreams                                                []MirrorUpstream
}

// MirrorUpstream is one upstream of the pull-through cache.
type MirrorUpstream struct {
	Prefix, Host     string
	Limit, Remaining int
}

// quotaRow is a quota as the usage page shows it.
type quotaRow struct {
	QuotaUsage
	Used, Of string
	Over     bool
}

// usagePage draws the storage used per namespace (as `wharf repo ls
// --namespaces` counts it: a blob shared within a namespace once) and the
// pushes and pulls of the last days, from the audit log.
func (u *UI) usagePage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	ns, err := u.cfg.Meta.NamespaceStats(ctx, "")
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The storage used cannot be read now; try again later.", err)
		return
	}
	now := u.cfg.Now()
	u.recordUsage(ctx, now, ns)
	d := usageData{Session: s}
	if d.Growth, err = u.growth(ctx, now, r.URL.Query().Get("ns")); err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The storage's history cannot be read now; try again later.", err)
		return
	}
	var total int64
	for _, n := range ns {
		total += n.Bytes
	}
	d.Total = humanBytes(total)
	slices.SortStableFunc(ns, func(a, b metadata.NamespaceStats) int { return cmp.Compare(b.Bytes, a.Bytes) })
	if len(ns) > maxNamespaceBars {
		d.More, ns = len(ns)-maxNamespaceBars, ns[:maxNamespaceBars]
	}
	d.Namespaces = namespaceChart(ns)
	d.Activity, err = u.activity(ctx, now)
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The audit log cannot be read now; try again later.", err)
		return
	}
	if u.cfg.GCStatus != nil {
		if d.GC, err = indented(ctx, u.cfg.GCStatus); err != nil {
			u.fail(w, r, errcode.PageUnavailable, "The garbage collector's status cannot be read now; try again later.", err)
			return
		}
	}
	d.Retention = u.cfg.RetentionDryRun != nil
	if u.cfg.Quotas != nil {
		qs, err := u.cfg.Quotas(ctx)
		if err != nil {
			u.fail(w, r, errcode.PageUnavailable, "The quotas' usage cannot be read now; try again later.", err)
			return
		}
		for _, q := range qs {
			d.Quotas = append(d.Quotas, quotaRow{QuotaUsage: q, Used: humanBytes(q.Usage), Of: humanBytes(q.Limit), Over: q.Usage >= q.Limit})
		}
	}
	if u.cfg.Mirrors != nil {
		m := u.cfg.Mirrors()
		d.Mirrors = &m
	}
	u.render(w, r, http.StatusOK, "admin_usage.html", d)
}

// indented is what report answers, as indented JSON.
func indented(ctx context.Context, report func(context.Context) (any, error)) (string, error) {
	v, err := report(ctx)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	return string(b), err
}

type retentionData struct {
	Session *session
	Report  string
}

// retentionDryRun shows what the retention policies would remove now,
// removing nothing. It is a POST, with the session's CSRF token, because
// it reads every repository: no link prefetch or crawler starts it.
func (u *UI) retentionDryRun(w http.ResponseWriter, r *http.Request, s *session) {
	if u.cfg.RetentionDryRun == nil {
		u.fail(w, r, errcode.PageNotFound, "This server applies no retention policies.", nil)
		return
	}
	rep, err := indented(r.Context(), u.cfg.RetentionDryRun)
	if err != nil {
		u.fail(w, r, errcode.PageUnavailable, "The retention dry run failed; the server log says why.", err)
		return
	}
	u.log.InfoContext(r.Context(), "web interface: retention dry run", "by", s.Account())
	u.render(w, r, http.StatusOK, "admin_retention.html", retentionData{Session: s, Report: rep})
}

func namespaceChart(ns []metadata.NamespaceStats) hchart {
	const row, labelWidth, barMax = 24, 220, 420
	c := hchart{Width: labelWidth + barMax + 110, Height: max(1, len(ns)) * row, LabelWidth: labelWidth, BarMax: barMax}
	var top int64 = 1
	for _, n := range ns {
		top = max(top, n.Bytes)
	}
	for i, n := range ns {
		width := max(1, int(float64(n.Bytes)/float64(top)*barMax))
		c.Bars = append(c.Bars, hbar{Label: n.Namespace, Value: humanBytes(n.Bytes), Y: i*row + 3, TextY: i*row + 17,
			Width: width, ValueX: labelWidth + width + 6})
	}
	return c
}

// activity counts the pushes and pulls of the audit log per UTC day over
// the last activityDays days (a folded pull record counts its pulls),
// reading at most maxActivityRecords records a page at a time.
func (u *UI) activity(ctx context.Context, now time.Time) (vchart, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(activityDays - 1))
	pushes, pulls := make([]int64, activityDays), make([]int64, activityDays)
	c := vchart{Width: 760, Height: 215, Base: 190, BarWidth: 18, LabelY: 207}
	for _, action := range []events.Action{events.Push, events.Pull} {
		counts, cursor, read := pushes, "", 0
		if action == events.Pull {
			counts = pulls
		}
		for {
			recs, next, err := u.cfg.Meta.ListAudit(ctx, metadata.AuditQuery{Action: string(action), Since: since, Cursor: cursor, Limit: 1000})
			if err != nil {
				return c, err
			}
			for _, rec := range recs {
				if i := int(rec.Time.UTC().Sub(since) / (24 * time.Hour)); i >= 0 && i < activityDays {
					counts[i] += max(rec.Count, 1)
				}
			}
			read += len(recs)
			if next == "" {
				break
			}
			if read >= maxActivityRecords {
				c.Partial = true
				break
			}
			cursor = next
		}
	}
	c.Max = 1
	for i := range activityDays {
		c.Max = max(c.Max, pushes[i], pulls[i])
	}
	step := (c.Width - 40) / activityDays
	height := func(n int64) int { return int(float64(n) / float64(c.Max) * float64(c.Base-20)) }
	for i := range activityDays {
		x := 30 + i*step
		ph, lh := height(pushes[i]), height(pulls[i])
		c.Days = append(c.Days, day{Label: since.AddDate(0, 0, i).Format("01-02"), LabelX: x + c.BarWidth, X: x, PushY: c.Base - ph, PushH: ph,
			PullX: x + c.BarWidth, PullY: c.Base - lh, PullH: lh, Pushes: pushes[i], Pulls: pulls[i]})
	}
	return c, nil
}
