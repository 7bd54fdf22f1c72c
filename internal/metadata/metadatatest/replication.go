package metadatatest

import (
	"strings"
	"testing"
	"time"

	"wharf/internal/metadata"
)

// testReplicationRules: attempts add up per rule, the last one's error
// replaces the previous (a success clears it), a long error is bounded,
// and rules list by name.
func testReplicationRules(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	start := time.Now().Add(-time.Second)
	steps := []struct {
		rule           string
		copied, failed int64
		err            string
	}{
		{"to-dr", 3, 0, ""},
		{"from-hub", 0, 1, "replicate: read registry-1.docker.io/library/nginx:1: 429"},
		{"to-dr", 2, 1, "replicate: write dr.example/team/app:1: 503"},
		{"from-hub", 4, 0, ""},
		{"long", 0, 1, strings.Repeat("x", 5000)},
	}
	for _, st := range steps {
		if err := s.RecordReplication(ctx, st.rule, start, st.copied, st.failed, st.err); err != nil {
			t.Fatalf("RecordReplication(%s): %v", st.rule, err)
		}
	}
	got, err := s.ReplicationRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		rule           string
		copied, failed int64
		err            string
	}{
		{"from-hub", 4, 1, ""},
		{"long", 0, 1, strings.Repeat("x", 1000)},
		{"to-dr", 5, 1, "replicate: write dr.example/team/app:1: 503"},
	}
	if len(got) != len(want) {
		t.Fatalf("ReplicationRules = %+v; want %d rules", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Rule != w.rule || g.Copied != w.copied || g.Failed != w.failed || g.LastError != w.err {
			t.Errorf("rule %d = %s copied %d failed %d error %.40q; want %s %d %d %.40q", i, g.Rule, g.Copied, g.Failed, g.LastError, w.rule, w.copied, w.failed, w.err)
		}
		if !g.LastStart.Equal(start) && g.LastStart.Sub(start).Abs() > time.Millisecond || g.LastEnd.Before(g.LastStart) {
			t.Errorf("rule %s ran %v to %v; want from %v", g.Rule, g.LastStart, g.LastEnd, start)
		}
	}
	if err := s.RecordReplication(ctx, "bad\nname", start, 1, 0, ""); err == nil {
		t.Error("a rule name with a newline was stored")
	}
}
