package audit

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/metadata"
)

func TestCoalesce(t *testing.T) {
	t.Parallel()
	pull := func(id, addr, target string) metadata.AuditRecord {
		return metadata.AuditRecord{Action: "pull", Actor: "alice", Addr: addr, Repository: "app", Target: target, RequestID: id, Detail: `{"size":1}`}
	}
	batch := []metadata.AuditRecord{
		pull("1", "10.0.0.1", "v1"),
		{Action: "user.create", Target: "user bob", RequestID: "2"},
		pull("3", "10.0.0.1", "v1"),
		pull("4", "10.0.0.2", "v1"),                                 // another address: its own record
		pull("5", "10.0.0.1", "v2"),                                 // another target: its own record
		{Action: "user.create", Target: "user bob", RequestID: "6"}, // changes are never folded
		pull("7", "10.0.0.1", "v1"),
		{Action: "push", Actor: "alice", Addr: "10.0.0.1", Repository: "app", Target: "v1", RequestID: "8"},
	}
	type row struct{ ID, Detail string }
	var got []row
	for _, r := range coalesce(batch) {
		got = append(got, row{r.RequestID, r.Detail})
	}
	want := []row{{"1", `{"size":1,"count":3}`}, {"2", ""}, {"4", `{"size":1}`}, {"5", `{"size":1}`}, {"6", ""}, {"8", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("coalesced batch differs (-want +got):\n%s", diff)
	}
	if d := withCount("", 2); d != `{"count":2}` {
		t.Errorf("withCount of no detail = %s", d)
	}
}
