package bench

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/bench/wharfbench"
)

// TestWharfbenchSmoke runs the side-by-side harness with tiny sizes against
// the real wharf and distribution binaries (random loopback ports) and checks
// that its table parses: every workload row has two positive figures and a
// ratio. It checks the harness, not the speed: no figure is compared.
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
	md := rep.Markdown()
	rows := resultRows(t, md)
	if len(rows) < 13 {
		t.Fatalf("%d result rows, want at least 13:\n%s", len(rows), md)
	}
	for _, r := range rows {
		if len(r) != 6 {
			t.Errorf("row has %d cells, want 6: %q", len(r), r)
			continue
		}
		w, errW := strconv.ParseFloat(r[2], 64)
		d, errD := strconv.ParseFloat(r[3], 64)
		ratio, errR := strconv.ParseFloat(strings.TrimSuffix(r[4], "×"), 64)
		if errW != nil || errD != nil || errR != nil || w <= 0 || d <= 0 || ratio <= 0 {
			t.Errorf("row %q: want two positive figures and a positive ratio", r)
		}
	}
	for _, want := range []string{"SHA-256, one core", "sequential write + fsync", "Smoke run"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

var separator = regexp.MustCompile(`^\|(\s*-+:?\s*\|)+$`)

// resultRows returns the cells of the data rows of the table under
// "## Results".
func resultRows(t *testing.T, md string) [][]string {
	t.Helper()
	_, after, ok := strings.Cut(md, "## Results\n")
	if !ok {
		t.Fatalf("no Results section:\n%s", md)
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
