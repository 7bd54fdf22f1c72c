package metadatatest

import (
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// testCachedManifest: a manifest the pull-through cache stores before its
// blobs and child manifests, which are referenced all the same.
func testCachedManifest(t *testing.T, s *metadata.Store) {
	layer := digest.FromString("cached layer, not here yet")
	m := image("hub/app", "cached", layer)
	if err := s.PutCachedManifest(t.Context(), m, []string{"1"}); err != nil {
		t.Fatalf("PutCachedManifest without its layer: %v", err)
	}
	wantTags(t, s, "hub/app", []string{"1"})
	child := index("hub/app", "cached index", m.Digest, digest.FromString("a child not here yet"))
	if err := s.PutCachedManifest(t.Context(), child, []string{"multi"}); err != nil {
		t.Fatalf("PutCachedManifest of an index without its children: %v", err)
	}
	for _, tc := range []struct {
		repo string
		d    digest.Digest
		want bool
	}{
		{"hub/app", layer, true},
		{"hub/app", m.Digest, true},
		{"hub/other", layer, false},
		{"hub/app", digest.FromString("nobody's"), false},
	} {
		got, err := s.Referenced(t.Context(), tc.repo, tc.d)
		if err != nil || got != tc.want {
			t.Errorf("Referenced(%s, %s) = %v, %v; want %v", tc.repo, tc.d, got, err, tc.want)
		}
	}
	// A push of the same content still needs its references.
	err := s.PutManifest(t.Context(), image("team/app", "cached", layer), []string{"1"})
	wantErr(t, "PutManifest", err, metadata.ErrMissingReference)
}
