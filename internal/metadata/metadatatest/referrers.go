package metadatatest

import (
	"slices"
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
				got, err := s.Referrers(t.Context(), tc.repo, tc.subject, tc.artifactType)
				if err != nil {
					t.Fatalf("Referrers: %v", err)
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
		got, err := s.Referrers(t.Context(), "app", subject, "")
		if err != nil {
			t.Fatalf("Referrers: %v", err)
		}
		if diff := cmp.Diff(descriptors(sbom, sbom2), got); diff != "" {
			t.Errorf("Referrers after delete mismatch (-want +got):\n%s", diff)
		}
	})
}
