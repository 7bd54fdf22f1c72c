package metadatatest

import (
	"testing"

	"wharf/internal/metadata"
)

// testListTagsSeesChanges: a listing read once (and possibly kept by the
// store) reflects every later change at once — tags added by a push, a tag
// moved, a tag deleted, a manifest deleted with its tags — and paging
// follows the current list.
func testListTagsSeesChanges(t *testing.T, s *metadata.Store) {
	m1 := pushImage(t, s, "app", "one", "v1", "v2")
	wantTags(t, s, "app", []string{"v1", "v2"})

	m2 := pushImage(t, s, "app", "two", "v3", "v0")
	wantTags(t, s, "app", []string{"v0", "v1", "v2", "v3"})
	page, err := s.ListTags(t.Context(), "app", "v1", 1)
	if err != nil || len(page) != 1 || page[0] != "v2" {
		t.Fatalf("ListTags(last=v1, n=1) = %v, %v; want [v2]", page, err)
	}

	// Moving a tag keeps the list; deleting one shortens it.
	put(t, s, m2, "v1")
	wantTags(t, s, "app", []string{"v0", "v1", "v2", "v3"})
	if err := s.DeleteTag(t.Context(), "app", "v2"); err != nil {
		t.Fatal(err)
	}
	wantTags(t, s, "app", []string{"v0", "v1", "v3"})

	// Deleting a manifest removes its tags: m2 holds v0, v1, v3 now.
	if err := s.DeleteManifest(t.Context(), "app", m2.Digest); err != nil {
		t.Fatal(err)
	}
	wantTags(t, s, "app", []string{})
	put(t, s, m1, "again")
	wantTags(t, s, "app", []string{"again"})

	// The caller owns what it gets.
	got, err := s.ListTags(t.Context(), "app", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	got[0] = "changed"
	wantTags(t, s, "app", []string{"again"})
}
