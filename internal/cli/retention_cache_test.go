package cli

import (
	"bytes"
	"strings"
	"testing"

	"wharf/internal/retention"
)

// TestWriteRetentionCache: the pull-through cache's decisions are headed
// by what decided them, not by a policy index that does not exist.
func TestWriteRetentionCache(t *testing.T) {
	t.Parallel()
	rep := &retention.Report{DryRun: true, Repositories: []retention.Decision{
		{Repository: "library/busybox", Policy: retention.CachePolicy,
			Untag: []retention.Item{{Tag: "1", Digest: "sha256:aa", Reason: "evict_after 1h0m0s: fetched or pulled 2h0m0s ago"}}},
		{Repository: "ci/app", Policy: 0},
	}}
	var out bytes.Buffer
	if err := writeRetention(&out, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"library/busybox (pull-through cache: its upstream's max_size and evict_after)",
		"would untag  1", "evict_after 1h0m0s", "ci/app (retention.policies[0])"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "policies[-2]") {
		t.Errorf("a cache decision is shown as a policy:\n%s", out.String())
	}
}
