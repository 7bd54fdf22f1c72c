package metadatatest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// referrer returns an artifact manifest in repo with the given subject.
func referrer(repo, name, artifactType string, subject digest.Digest, annotations map[string]string) *metadata.Manifest {
	m := image(repo, name)
	m.ArtifactType = artifactType
	m.Subject = subject
	m.Annotations = annotations
	return m
}

// descriptors returns what Referrers lists for ms, in digest order.
func descriptors(ms ...*metadata.Manifest) []metadata.Descriptor {
	out := []metadata.Descriptor{}
	for _, m := range ms {
		out = append(out, metadata.Descriptor{
			MediaType:    m.MediaType,
			Digest:       m.Digest,
			Size:         m.Size,
			ArtifactType: m.ArtifactType,
			Annotations:  m.Annotations,
		})
	}
	slices.SortFunc(out, func(a, b metadata.Descriptor) int { return cmpString(string(a.Digest), string(b.Digest)) })
	return out
}

func testReferrers(t *testing.T, s *metadata.Store) {
	subject := pushImage(t, s, "app", "subject", "v1").Digest
	sbom := referrer("app", "sbom", typeSBOM, subject, map[string]string{"org.example.format": "spdx"})
	sbom2 := referrer("app", "sbom 2", typeSBOM, subject, nil)
	sig := referrer("app", "sig", typeSignature, subject, map[string]string{"a": "1", "b": "2"})
	future := digest.FromString("pushed later")
	early := referrer("app", "early", typeSBOM, future, nil) // its subject does not exist (yet)
	elsewhere := referrer("other", "sbom elsewhere", typeSBOM, subject, nil)
	for _, m := range []*metadata.Manifest{sbom, sbom2, sig, early, elsewhere} {
		put(t, s, m)
	}
	pushImage(t, s, "app", "no subject", "v2")

	tests := []struct {
		name         string
		repo         string
		subject      digest.Digest
		artifactType string
		want         []metadata.Descriptor
	}{
		{"all", "app", subject, "", descriptors(sbom, sbom2, sig)},
		{"filtered", "app", subject, typeSBOM, descriptors(sbom, sbom2)},
		{"filtered to one", "app", subject, typeSignature, descriptors(sig)},
		{"filter matches nothing", "app", subject, "application/unknown", descriptors()},
		{"subject not pushed yet", "app", future, "", descriptors(early)},
		{"subject without referrers", "app", sbom.Digest, "", descriptors()},
		{"other repository", "other", subject, "", descriptors(elsewhere)},
		{"unknown repository", "nope", subject, "", descriptors()},
	}
	// The group returns only when its parallel subtests are done, so the
	// delete below cannot overlap them.
	t.Run("lookups", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel() // read-only on the shared store
				got, more, err := s.Referrers(t.Context(), tc.repo, tc.subject, metadata.ReferrersPage{ArtifactType: tc.artifactType})
				if err != nil || more {
					t.Fatalf("Referrers: more %v, %v; want everything in one page", more, err)
				}
				if got == nil {
					t.Errorf("Referrers returned nil, want a non-nil slice")
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Referrers(%q, %s, %q) mismatch (-want +got):\n%s", tc.repo, tc.subject, tc.artifactType, diff)
				}
			})
		}
	})

	t.Run("after delete", func(t *testing.T) {
		if err := s.DeleteManifest(t.Context(), "app", sig.Digest); err != nil {
			t.Fatalf("DeleteManifest: %v", err)
		}
		got, _, err := s.Referrers(t.Context(), "app", subject, metadata.ReferrersPage{})
		if err != nil {
			t.Fatalf("Referrers: %v", err)
		}
		if diff := cmp.Diff(descriptors(sbom, sbom2), got); diff != "" {
			t.Errorf("Referrers after delete mismatch (-want +got):\n%s", diff)
		}
	})
}

// pushReferrers stores n referrers of subject in repo, of artifactType,
// each with the given annotations, and returns them in digest order.
func pushReferrers(t *testing.T, s *metadata.Store, repo, prefix, artifactType string, subject digest.Digest, n int, annotations map[string]string) []*metadata.Manifest {
	t.Helper()
	out := make([]*metadata.Manifest, n)
	for i := range out {
		out[i] = referrer(repo, fmt.Sprintf("%s %d", prefix, i), artifactType, subject, annotations)
		put(t, s, out[i])
	}
	slices.SortFunc(out, func(a, b *metadata.Manifest) int { return cmpString(string(a.Digest), string(b.Digest)) })
	return out
}

// walkReferrers reads every page of p.Limit (after p.After), checking that
// only the last page says no more follow, and returns the pages.
func walkReferrers(t *testing.T, s *metadata.Store, repo string, subject digest.Digest, p metadata.ReferrersPage) [][]metadata.Descriptor {
	t.Helper()
	var pages [][]metadata.Descriptor
	for {
		if len(pages) > 100 {
			t.Fatalf("Referrers(%+v): more than 100 pages", p)
		}
		page, more, err := s.Referrers(t.Context(), repo, subject, p)
		if err != nil {
			t.Fatalf("Referrers(%+v): %v", p, err)
		}
		if len(page) == 0 && more {
			t.Fatalf("Referrers(%+v): an empty page that says more follow", p)
		}
		pages = append(pages, page)
		if !more {
			return pages
		}
		p.After = page[len(page)-1].Digest
	}
}

func testReferrersPagination(t *testing.T, s *metadata.Store) {
	subject := pushImage(t, s, "app", "subject", "v1").Digest
	sboms := pushReferrers(t, s, "app", "sbom", typeSBOM, subject, 4, nil)
	sigs := pushReferrers(t, s, "app", "sig", typeSignature, subject, 3, map[string]string{"k": "v"})
	all := descriptors(append(slices.Clone(sboms), sigs...)...)

	for _, tc := range []struct {
		name      string
		page      metadata.ReferrersPage
		want      []metadata.Descriptor
		wantSizes []int
	}{
		{"pages of 3", metadata.ReferrersPage{Limit: 3}, all, []int{3, 3, 1}},
		{"pages of 7: exactly one full page", metadata.ReferrersPage{Limit: 7}, all, []int{7}},
		{"pages of 1", metadata.ReferrersPage{Limit: 1}, all, []int{1, 1, 1, 1, 1, 1, 1}},
		{"no limit", metadata.ReferrersPage{}, all, []int{7}},
		{"filtered, pages of 2", metadata.ReferrersPage{ArtifactType: typeSBOM, Limit: 2}, descriptors(sboms...), []int{2, 2}},
		{"after the last", metadata.ReferrersPage{After: all[6].Digest, Limit: 3}, []metadata.Descriptor{}, []int{0}},
		{"after a digest that is not a referrer", metadata.ReferrersPage{After: "sha256:", Limit: 10}, all, []int{7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages := walkReferrers(t, s, "app", subject, tc.page)
			got := []metadata.Descriptor{}
			var sizes []int
			for _, p := range pages {
				got = append(got, p...)
				sizes = append(sizes, len(p))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("walk mismatch (-want +got):\n%s", diff)
			}
			if !slices.Equal(sizes, tc.wantSizes) {
				t.Errorf("page sizes %v, want %v", sizes, tc.wantSizes)
			}
		})
	}
}

// testReferrersCursorStable walks the referrers while others are pushed
// and deleted: every referrer present throughout is listed exactly once,
// which an offset (that shifts when a referrer lands before it) would not
// give.
func testReferrersCursorStable(t *testing.T, s *metadata.Store) {
	subject := pushImage(t, s, "app", "subject", "v1").Digest
	before := pushReferrers(t, s, "app", "before", typeSBOM, subject, 9, nil)
	p := metadata.ReferrersPage{Limit: 3}
	first, more, err := s.Referrers(t.Context(), "app", subject, p)
	if err != nil || !more || len(first) != 3 {
		t.Fatalf("first page: %d descriptors, more %v, %v; want 3 and more", len(first), more, err)
	}
	// Between pages: many new referrers, on both sides of the cursor, and
	// one not yet listed is deleted.
	added := pushReferrers(t, s, "app", "during", typeSBOM, subject, 12, nil)
	gone := before[5]
	if err := s.DeleteManifest(t.Context(), "app", gone.Digest); err != nil {
		t.Fatal(err)
	}
	p.After = first[len(first)-1].Digest
	seen := map[digest.Digest]int{}
	for _, d := range first {
		seen[d.Digest]++
	}
	for _, page := range walkReferrers(t, s, "app", subject, p) {
		for _, d := range page {
			seen[d.Digest]++
		}
	}
	for _, m := range before {
		if want := 1 - btoi(m == gone); seen[m.Digest] != want {
			t.Errorf("referrer %s present before the walk listed %d times, want %d", m.Digest, seen[m.Digest], want)
		}
	}
	for _, m := range added {
		afterCursor := m.Digest > p.After
		if seen[m.Digest] > 1 || (afterCursor && seen[m.Digest] != 1) {
			t.Errorf("referrer %s pushed during the walk (after the cursor: %v) listed %d times", m.Digest, afterCursor, seen[m.Digest])
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// testReferrersMaxBytes checks that a page ends before it grows past
// MaxBytes, and always holds at least one descriptor.
func testReferrersMaxBytes(t *testing.T, s *metadata.Store) {
	subject := pushImage(t, s, "app", "subject", "v1").Digest
	big := map[string]string{"org.example.blob": strings.Repeat("x", 10_000)}
	refs := pushReferrers(t, s, "app", "big", typeSBOM, subject, 5, big)
	all := descriptors(refs...)
	for _, tc := range []struct {
		name      string
		maxBytes  int
		wantSizes []int
	}{
		{"room for one: every page holds one anyway", 1, []int{1, 1, 1, 1, 1}},
		{"room for two", 25_000, []int{2, 2, 1}},
		{"room for all", 1 << 20, []int{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages := walkReferrers(t, s, "app", subject, metadata.ReferrersPage{Limit: 100, MaxBytes: tc.maxBytes})
			got := []metadata.Descriptor{}
			var sizes []int
			for _, p := range pages {
				got = append(got, p...)
				sizes = append(sizes, len(p))
			}
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("walk mismatch (-want +got):\n%s", diff)
			}
			if !slices.Equal(sizes, tc.wantSizes) {
				t.Errorf("page sizes %v, want %v", sizes, tc.wantSizes)
			}
		})
	}
}
