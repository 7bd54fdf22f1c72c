package registry

import (
	"bytes"
	"testing"

	"wharf/internal/metadata"
)

// TestManifestCacheStamps checks when an entry holds: at its change
// generation (never without one), at its repository version (the way
// without a generation), and for a GET only when it holds the payload;
// and that the cache stays within its bounds.
func TestManifestCacheStamps(t *testing.T) {
	t.Parallel()
	c := newManifestCache()
	v1 := metadata.RepoVersion{ID: 1, Created: 10, Tags: 3}
	head := &metadata.Manifest{Digest: "sha256:aa", Size: 2}
	c.put("app", "v1", v1, 7, head)
	for _, tc := range []struct {
		name    string
		got     *metadata.Manifest
		holding bool
	}{
		{"same generation, HEAD", c.current("app", "v1", 7, false), true},
		{"same generation, GET of an entry without payload", c.current("app", "v1", 7, true), false},
		{"another generation", c.current("app", "v1", 8, false), false},
		{"no generation", c.current("app", "v1", 0, false), false},
		{"same version, HEAD", c.get("app", "v1", v1, false), true},
		{"version of tags moved", c.get("app", "v1", metadata.RepoVersion{ID: 1, Created: 10, Tags: 4}, false), false},
		{"repository made again", c.get("app", "v1", metadata.RepoVersion{ID: 1, Created: 11, Tags: 3}, false), false},
		{"another tag", c.get("app", "v2", v1, false), false},
	} {
		if (tc.got != nil) != tc.holding {
			t.Errorf("%s: %v, want an entry: %v", tc.name, tc.got, tc.holding)
		}
	}
	c.put("app", "v1", v1, 7, &metadata.Manifest{Digest: "sha256:aa", Payload: []byte("{}")})
	m := c.current("app", "v1", 7, true)
	if m == nil || !bytes.Equal(m.Payload, []byte("{}")) {
		t.Fatalf("GET after a GET's read: %v", m)
	}
	m.Digest = "sha256:changed"
	if again := c.current("app", "v1", 7, true); again.Digest != "sha256:aa" {
		t.Errorf("a caller's change reached the cache: %s", again.Digest)
	}
	c.put("big", "v1", v1, 7, &metadata.Manifest{Payload: make([]byte, maxCachedManifestSize+1)})
	if c.current("big", "v1", 7, true) != nil {
		t.Error("a manifest above maxCachedManifestSize was kept")
	}
	payload := make([]byte, 64<<10)
	for i := range maxCachedManifestBytes/len(payload) + 10 {
		c.put("fill", string(rune('a'+i%26))+string(rune('a'+i/26)), v1, 7, &metadata.Manifest{Payload: payload})
	}
	if c.bytes > maxCachedManifestBytes || c.lru.Len() > maxCachedManifests {
		t.Errorf("%d bytes in %d entries, past the bounds %d and %d", c.bytes, c.lru.Len(), maxCachedManifestBytes, maxCachedManifests)
	}
}
