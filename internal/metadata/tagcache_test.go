package metadata

import (
	"fmt"
	"slices"
	"testing"
)

func TestPageAfter(t *testing.T) {
	tags := []string{"a", "b", "c", "d"}
	for _, tc := range []struct {
		last string
		n    int
		want []string
	}{
		{"", 0, tags}, {"", 2, []string{"a", "b"}}, {"a", 2, []string{"b", "c"}},
		{"bb", 0, []string{"c", "d"}}, {"d", 5, []string{}}, {"z", 1, []string{}}, {"", 9, tags},
	} {
		got := pageAfter(tags, tc.last, tc.n)
		if !slices.Equal(got, tc.want) {
			t.Errorf("pageAfter(last=%q, n=%d) = %v, want %v", tc.last, tc.n, got, tc.want)
		}
		if len(got) > 0 {
			got[0] = "x"
			if tags[0] == "x" || tags[1] == "x" || tags[2] == "x" {
				t.Fatal("pageAfter returned the cache's own slice")
			}
		}
	}
}

func TestTagCacheValidityAndBounds(t *testing.T) {
	c := newTagCache()
	c.put("app", repoRow{id: 1}, 5, []string{"v1"})
	if got := c.get("app", repoRow{id: 1}, 5); !slices.Equal(got, []string{"v1"}) {
		t.Fatalf("get at the stored version = %v", got)
	}
	if c.get("app", repoRow{id: 1}, 6) != nil || c.get("app", repoRow{id: 2}, 5) != nil || c.get("other", repoRow{id: 1}, 5) != nil ||
		c.get("app", repoRow{id: 1, created: 9}, 5) != nil {
		t.Error("a list served for another version, repository id, creation time or name")
	}
	c.put("app", repoRow{id: 1}, 4, []string{"old"}) // read before a newer list was stored
	if got := c.get("app", repoRow{id: 1}, 5); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("an older list replaced a newer one: %v", got)
	}
	big := make([]string, maxCachedTagsPerRepo+1)
	c.put("huge", repoRow{id: 1}, 1, big)
	if c.get("huge", repoRow{id: 1}, 1) != nil {
		t.Error("a list above the per-repository bound was kept")
	}
	// Filling past the total bound drops the least recently used lists.
	per := maxCachedTags / 4
	for i := range 6 {
		c.put(fmt.Sprintf("r%d", i), repoRow{id: 1}, 1, make([]string, per))
	}
	if c.total > maxCachedTags {
		t.Errorf("cache holds %d names, bound %d", c.total, maxCachedTags)
	}
	if c.get("r5", repoRow{id: 1}, 1) == nil || c.get("r0", repoRow{id: 1}, 1) != nil || c.get("app", repoRow{id: 1}, 5) != nil {
		t.Error("eviction did not drop the least recently used lists first")
	}
}
