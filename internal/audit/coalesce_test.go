package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/metadata"
)

func TestCoalesce(t *testing.T) {
	t.Parallel()
	pull := func(id, addr, tag string) entry {
		return entry{rec: metadata.AuditRecord{Action: "pull", Actor: "alice", Addr: addr, Repository: "app", RequestID: id},
			ev: eventParts{set: true, tag: tag, size: 1}}
	}
	change := func(id string) entry {
		return entry{rec: metadata.AuditRecord{Action: "user.create", Target: "user bob", RequestID: id}}
	}
	batch := []entry{
		pull("1", "10.0.0.1", "v1"),
		change("2"),
		pull("3", "10.0.0.1", "v1"),
		pull("4", "10.0.0.2", "v1"), // another address: its own record
		pull("5", "10.0.0.1", "v2"), // another target: its own record
		change("6"),                 // changes are never folded
		pull("7", "10.0.0.1", "v1"),
		{rec: metadata.AuditRecord{Action: "push", Actor: "alice", Addr: "10.0.0.1", Repository: "app", RequestID: "8"},
			ev: eventParts{set: true, tag: "v1"}},
	}
	type row struct{ ID, Target, Detail string }
	var got []row
	for _, r := range format(nil, coalesce(batch)) {
		got = append(got, row{r.RequestID, r.Target, r.Detail})
	}
	want := []row{{"1", "v1", `{"size":1,"count":3}`}, {"2", "user bob", ""}, {"4", "v1", `{"size":1}`},
		{"5", "v2", `{"size":1}`}, {"6", "user bob", ""}, {"8", "v1", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("coalesced batch differs (-want +got):\n%s", diff)
	}
	if d := withCount("", 2); d != `{"count":2}` {
		t.Errorf("withCount of no detail = %s", d)
	}
}
