package metrics

import (
	"database/sql"
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"wharf/internal/events"
)

// TestDashboardSeriesExist reads deploy/grafana-wharf.json and checks that
// every series its queries name is one this package exports, so that a
// renamed series cannot leave an empty panel behind.
func TestDashboardSeriesExist(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../deploy/grafana-wharf.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	// Every series with a sample: one of each kind of thing observed.
	m := New(Options{})
	if err := m.Register(NewDBStats(func() sql.DBStats { return sql.DBStats{} })); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("PUT", "/v2/a/blobs/uploads/x", nil)
	m.Begin(r)
	m.End(r, 429, 1, 1, time.Millisecond)
	m.Record(&events.Event{Action: events.Push, Size: 1})
	m.GCDone(GCRun{Duration: time.Second})
	m.BackendError("storage")
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
	}
	name := regexp.MustCompile(`\b(?:wharf|go|process)_[a-z_]+`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, s := range name.FindAllString(tg.Expr, -1) {
				n++
				base := strings.TrimSuffix(s, "_bucket")
				if !exported[s] && !exported[base] {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, s)
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("the dashboard names %d series; it should cover the requests, tokens, content, database, GC and process", n)
	}
}
