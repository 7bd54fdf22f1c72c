package metadatatest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

func testResolveTagNotFound(t *testing.T, s *metadata.Store) {
	pushImage(t, s, "a", "img", "v1")
	addBlob(t, s, "blobs-only", "x")
	for _, tc := range []struct{ name, repo, tag string }{
		{"unknown tag", "a", "v2"},
		{"tag of another repository", "blobs-only", "v1"},
		{"unknown repository", "nope", "v1"},
		{"case differs", "a", "V1"},
	} {
		_, err := s.ResolveTag(t.Context(), tc.repo, tc.tag)
		wantErr(t, "ResolveTag "+tc.name, err, metadata.ErrNotFound)
	}
}

func testDeleteTag(t *testing.T, s *metadata.Store) {
	m := pushImage(t, s, "app", "img", "v1", "latest")
	pushImage(t, s, "other", "img", "v1")
	ctx := t.Context()
	if err := s.DeleteTag(ctx, "app", "v1"); err != nil {
		t.Fatalf("DeleteTag: %v", err)
	}
	_, err := s.ResolveTag(ctx, "app", "v1")
	wantErr(t, "ResolveTag after DeleteTag", err, metadata.ErrNotFound)
	wantTags(t, s, "app", []string{"latest"})
	wantManifest(t, s, m) // the manifest stays
	wantResolve(t, s, "app", "latest", m.Digest)
	wantResolve(t, s, "other", "v1", m.Digest) // same tag elsewhere untouched

	for _, tc := range []struct{ name, repo, tag string }{
		{"already deleted", "app", "v1"},
		{"never existed", "app", "v9"},
		{"unknown repository", "nope", "latest"},
	} {
		wantErr(t, "DeleteTag "+tc.name, s.DeleteTag(ctx, tc.repo, tc.tag), metadata.ErrNotFound)
	}
	if err := s.DeleteTag(ctx, "app", "latest"); err != nil {
		t.Fatalf("DeleteTag: %v", err)
	}
	wantTags(t, s, "app", []string{}) // exists, no tags
}

// paginationCases are the keyset edges, for a list of exactly a..e.
var paginationCases = []struct {
	name string
	last string
	n    int
	want []string
}{
	{"all with n=0", "", 0, []string{"a", "b", "c", "d", "e"}},
	{"all with negative n", "", -1, []string{"a", "b", "c", "d", "e"}},
	{"first page", "", 2, []string{"a", "b"}},
	{"n=1", "", 1, []string{"a"}},
	{"middle page", "b", 2, []string{"c", "d"}},
	{"short last page", "d", 2, []string{"e"}},
	{"page ends exactly at the end", "c", 2, []string{"d", "e"}},
	{"n equals the count", "", 5, []string{"a", "b", "c", "d", "e"}},
	{"n beyond the count", "", 100, []string{"a", "b", "c", "d", "e"}},
	{"last is the last item", "e", 2, []string{}},
	{"last beyond the end", "zzz", 0, []string{}},
	{"last between items", "bb", 0, []string{"c", "d", "e"}},
	{"last before the first item", "0", 1, []string{"a"}},
	{"last not an item, with n", "a0", 2, []string{"b", "c"}},
}

func testListTagsPagination(t *testing.T, s *metadata.Store) {
	pushImage(t, s, "app", "img", "c", "a", "e", "b", "d")
	pushImage(t, s, "app2", "img", "aa", "f") // other repositories do not leak in
	for _, tc := range paginationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // read-only on the shared store
			got, err := s.ListTags(t.Context(), "app", tc.last, tc.n)
			if err != nil {
				t.Fatalf("ListTags(last=%q, n=%d): %v", tc.last, tc.n, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ListTags(last=%q, n=%d) mismatch (-want +got):\n%s", tc.last, tc.n, diff)
			}
		})
	}
}

// byteOrder is a set of valid tags whose byte order differs from any
// case-insensitive or locale-aware order.
var byteOrder = []string{
	"a", "B", "_x", "A", "a-b", "a.b", "a0", "a_b", "aB", "ab", "Z", "z", "0", "9", "v1.10", "v1.9", "v1.9.1",
}

func testListTagsByteOrder(t *testing.T, s *metadata.Store) {
	pushImage(t, s, "app", "img", byteOrder...)
	want := slices.Clone(byteOrder)
	slices.Sort(want) // Go compares strings byte-wise
	wantTags(t, s, "app", want)

	// Paginating one by one visits the same order.
	var got []string
	last := ""
	for range len(want) + 1 { // bounded: a store that repeats a tag must not loop forever
		page, err := s.ListTags(t.Context(), "app", last, 1)
		if err != nil {
			t.Fatalf("ListTags(last=%q): %v", last, err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		last = page[0]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paginated ListTags mismatch (-want +got):\n%s", diff)
	}
}

func testListTagsRepositoryStates(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	_, err := s.ListTags(ctx, "nope", "", 0)
	wantErr(t, "ListTags of an unknown repository", err, metadata.ErrNotFound)
	_, err = s.ListTags(ctx, "nope", "a", 10)
	wantErr(t, "ListTags of an unknown repository, paginated", err, metadata.ErrNotFound)

	addBlob(t, s, "blobs", "x") // exists through a blob
	pushImage(t, s, "untagged", "img")
	for _, repo := range []string{"blobs", "untagged"} {
		got, err := s.ListTags(ctx, repo, "", 0)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("ListTags(%q) = %#v, %v; want an empty non-nil slice", repo, got, err)
		}
	}
}

func testListTagsThousands(t *testing.T, s *metadata.Store) {
	const count = 3000
	tags := make([]string, count)
	for i := range tags {
		tags[i] = fmt.Sprintf("v%d", i) // v10 < v100 < v11 in byte order
	}
	m := pushImage(t, s, "big", "img", tags...)
	want := slices.Clone(tags)
	slices.Sort(want)

	const page = 97 // not a divisor of count: the last page is short
	var got []string
	last := ""
	for pages := 0; ; pages++ {
		if pages > count/page+1 {
			t.Fatalf("pagination does not end after %d pages", pages)
		}
		p, err := s.ListTags(t.Context(), "big", last, page)
		if err != nil {
			t.Fatalf("ListTags(last=%q): %v", last, err)
		}
		if len(p) > page {
			t.Fatalf("ListTags returned %d tags, more than n=%d", len(p), page)
		}
		if len(p) == 0 {
			break
		}
		got = append(got, p...)
		last = p[len(p)-1]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paginated ListTags mismatch (-want +got):\n%s", diff)
	}
	wantResolve(t, s, "big", "v2999", m.Digest)
}

func testListRepositories(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	got, err := s.ListRepositories(ctx, "", 0)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListRepositories on an empty store = %#v, %v; want an empty non-nil slice", got, err)
	}
	names := []string{"b", "a/b", "a-b", "a0", "a", "A", "library/alpine", "library/ubuntu"}
	for _, name := range names {
		pushImage(t, s, name, "img", "latest")
	}
	addBlob(t, s, "blob-only", "x")
	if _, err := s.LinkBlob(ctx, "mounted", "blob-only", digest.FromString("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUpload(ctx, &metadata.Upload{ID: "u1", Repo: "uploading", Algorithm: "sha256"}); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	got, err = s.ListRepositories(ctx, "", 0)
	if err != nil {
		t.Fatalf("ListRepositories: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListRepositories mismatch (-want +got):\n%s", diff)
	}
}

func testListRepositoriesPagination(t *testing.T, s *metadata.Store) {
	for _, name := range []string{"d", "b", "e", "a", "c"} {
		pushImage(t, s, name, "img", "latest")
	}
	addBlob(t, s, "bb", "not in the catalog") // between b and c, must be skipped
	addBlob(t, s, "f", "not in the catalog")  // after the end
	for _, tc := range paginationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := s.ListRepositories(t.Context(), tc.last, tc.n)
			if err != nil {
				t.Fatalf("ListRepositories(last=%q, n=%d): %v", tc.last, tc.n, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ListRepositories(last=%q, n=%d) mismatch (-want +got):\n%s", tc.last, tc.n, diff)
			}
		})
	}
}
