package authstack

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
	"wharf/internal/retention"
)

// TestCacheRules: every upstream becomes a rule once one has a limit, so
// that retention matches each cached repository to its own upstream; none
// when no upstream has a limit.
func TestCacheRules(t *testing.T) {
	t.Parallel()
	var cfg config.Config
	cfg.Proxy.Upstreams = []config.Upstream{{Prefix: "/hub/", URL: "https://registry-1.docker.io"}, {Mirror: true, URL: "https://m"}}
	if got := CacheRules(cfg); got != nil {
		t.Errorf("CacheRules without limits = %v; want none", got)
	}
	cfg.Proxy.Upstreams[1].MaxSize = 1 << 30
	cfg.Proxy.Upstreams[1].EvictAfter = config.Duration(time.Hour)
	want := []retention.CacheRule{{Prefix: "hub"}, {Prefix: "", MaxSize: 1 << 30, EvictAfter: time.Hour}}
	if diff := cmp.Diff(want, CacheRules(cfg)); diff != "" {
		t.Errorf("CacheRules (-want +got):\n%s", diff)
	}
}
