package metadatatest

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// testFsck covers what wharf fsck reads and repairs: the keyset listings of
// blobs, manifests (with their references) and tags, and the removal of a
// corrupt blob's row and of a tag only while it points where it did.
func testFsck(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	var layers []digest.Digest
	for _, c := range []string{"a", "b", "c"} {
		layers = append(layers, addBlob(t, s, "r1", c))
	}
	addBlob(t, s, "r2", "a")
	m1 := image("r1", "one", layers[0], layers[1])
	m2 := image("r1", "two", layers[2])
	if err := s.PutManifest(ctx, m2, []string{"two"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutManifest(ctx, m1, []string{"latest", "one"}); err != nil {
		t.Fatal(err)
	}

	// Pages of one: every row once, in order.
	var blobs []digest.Digest
	for after := digest.Digest(""); ; {
		page, err := s.BlobsAfter(ctx, after, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		blobs, after = append(blobs, page[0].Digest), page[0].Digest
	}
	if len(blobs) != 3 || !(blobs[0] < blobs[1] && blobs[1] < blobs[2]) {
		t.Errorf("BlobsAfter walked %v, want the 3 blobs in order", blobs)
	}
	if n, bytes, err := s.BlobTotals(ctx); err != nil || n != 3 || bytes != 3 {
		t.Errorf("BlobTotals = %d, %d, %v; want 3, 3", n, bytes, err)
	}
	ms, err := s.ManifestsAfter(ctx, 0, 10)
	if err != nil || len(ms) != 2 {
		t.Fatalf("ManifestsAfter = %d manifests, %v; want 2", len(ms), err)
	}
	if ms[0].Digest != m2.Digest || ms[1].Digest != m1.Digest {
		t.Errorf("ManifestsAfter order: %s, %s; want m2 (pushed first), m1", ms[0].Digest, ms[1].Digest)
	}
	if len(ms[1].Refs) != 2 || len(ms[0].Refs) != 1 || ms[0].Refs[0].Digest != layers[2] {
		t.Errorf("ManifestsAfter = %+v", ms)
	}
	if more, err := s.ManifestsAfter(ctx, ms[0].ID, 10); err != nil || len(more) != 1 || more[0].Digest != m1.Digest {
		t.Errorf("ManifestsAfter the first = %+v, %v", more, err)
	}
	var tags []string
	for repo, tag := "", ""; ; {
		page, err := s.TagsAfter(ctx, repo, tag, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		repo, tag = page[0].Repo, page[0].Tag
		tags = append(tags, repo+":"+tag+"@"+page[0].Digest.String())
	}
	want := []string{"r1:latest@" + m1.Digest.String(), "r1:one@" + m1.Digest.String(), "r1:two@" + m2.Digest.String()}
	if diff := cmp.Diff(want, tags); diff != "" {
		t.Errorf("TagsAfter walked (-want +got):\n%s", diff)
	}
	if ok, err := s.HasManifest(ctx, "r1", m2.Digest); err != nil || !ok {
		t.Errorf("HasManifest(r1, m2) = %v, %v", ok, err)
	}
	if ok, err := s.HasManifest(ctx, "r2", m2.Digest); err != nil || ok {
		t.Errorf("HasManifest(r2, m2) = %v, %v", ok, err)
	}

	repos, err := s.ForgetBlob(ctx, layers[0])
	if err != nil || !cmp.Equal(repos, []string{"r1", "r2"}) {
		t.Errorf("ForgetBlob = %v, %v; want the two repositories that linked it", repos, err)
	}
	if _, err := s.BlobSize(ctx, layers[0]); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("BlobSize after ForgetBlob: %v", err)
	}
	if _, err := s.ForgetBlob(ctx, layers[0]); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("ForgetBlob again: %v", err)
	}
	if removed, err := s.UntagIf(ctx, "r1", "latest", m2.Digest); err != nil || removed {
		t.Errorf("UntagIf on another manifest = %v, %v; want the tag kept", removed, err)
	}
	if removed, err := s.UntagIf(ctx, "r1", "latest", m1.Digest); err != nil || !removed {
		t.Errorf("UntagIf = %v, %v", removed, err)
	}
	if _, err := s.ResolveTag(ctx, "r1", "latest"); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("ResolveTag after UntagIf: %v", err)
	}
	if removed, err := s.UntagIf(ctx, "nope", "latest", m1.Digest); err != nil || removed {
		t.Errorf("UntagIf in no repository = %v, %v", removed, err)
	}
}
