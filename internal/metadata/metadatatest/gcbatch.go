package metadatatest

import (
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// testGCDeleteUntaggedBatch: one transaction deletes several untagged
// manifests in the order given, with DeleteUntagged's checks for each: a
// parent listed before the children only it kept takes them along, a
// manifest tagged, referenced, used since or gone is kept and says why,
// and the others of the batch still go.
func testGCDeleteUntaggedBatch(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	a := pushImage(t, s, "app", "a")
	idx := index("app", "idx", a.Digest)
	put(t, s, idx)
	b := pushImage(t, s, "app", "b")
	sig := referrer("app", "sig", typeSignature, b.Digest, nil)
	put(t, s, sig)
	tagged := pushImage(t, s, "app", "tagged", "t")
	used := pushImage(t, s, "app", "used")
	child := pushImage(t, s, "app", "child")
	parent := index("app", "parent", child.Digest)
	put(t, s, parent)
	time.Sleep(2 * time.Millisecond)
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	put(t, s, used) // pushed again since
	missing := digest.FromString("never pushed")

	batch := []digest.Digest{idx.Digest, a.Digest, sig.Digest, b.Digest, tagged.Digest, used.Digest, missing,
		child.Digest, parent.Digest}
	want := []error{nil, nil, nil, nil, metadata.ErrStillReferenced, metadata.ErrUsedSince, metadata.ErrNotFound,
		metadata.ErrStillReferenced, nil}
	got, err := s.DeleteUntaggedBatch(ctx, "app", batch, mid)
	if err != nil {
		t.Fatalf("DeleteUntaggedBatch: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d outcomes for %d manifests", len(got), len(batch))
	}
	for i := range want {
		if want[i] == nil {
			if got[i] != nil {
				t.Errorf("manifest %d (%s): %v, want deleted", i, batch[i], got[i])
			}
			continue
		}
		wantErr(t, "DeleteUntaggedBatch of manifest "+batch[i].String(), got[i], want[i])
	}
	for _, d := range []digest.Digest{idx.Digest, a.Digest, sig.Digest, b.Digest, parent.Digest} {
		wantNoManifest(t, s, "app", d)
	}
	for _, m := range []*metadata.Manifest{tagged, used, child} {
		wantManifest(t, s, manifestByDigest(t, s, "app", m.Digest))
	}
	if _, err := s.DeleteUntaggedBatch(ctx, "nope", []digest.Digest{a.Digest}, mid); err != nil {
		t.Errorf("DeleteUntaggedBatch in an unknown repository: %v, want a kept outcome", err)
	}
}

// testGCRecordedBlobs: the sweep's last look before removing files finds
// exactly the digests that have a row.
func testGCRecordedBlobs(t *testing.T, s *metadata.Store) {
	d1 := addBlob(t, s, "app", "one")
	d2 := addBlob(t, s, "app", "two")
	unknown := digest.FromString("no row")
	got, err := s.RecordedBlobs(t.Context(), []digest.Digest{d1, unknown, d2})
	if err != nil {
		t.Fatalf("RecordedBlobs: %v", err)
	}
	if len(got) != 2 || !got[d1] || !got[d2] || got[unknown] {
		t.Errorf("RecordedBlobs = %v, want %s and %s", got, d1, d2)
	}
	if got, err := s.RecordedBlobs(t.Context(), nil); err != nil || len(got) != 0 {
		t.Errorf("RecordedBlobs of none = %v, %v", got, err)
	}
}

// testGCDeleteBlobsMixed: a batch's statements, one for all its blobs,
// keep each blob that is referenced, linked or committed within the grace
// period, and delete only the others, with their links.
func testGCDeleteBlobsMixed(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	g1, g2 := addBlob(t, s, "app", "garbage one"), addBlob(t, s, "app", "garbage two")
	relinked := addBlob(t, s, "app", "linked again")
	used := pushImage(t, s, "app", "v1", "v1").Refs[0].Digest
	time.Sleep(2 * time.Millisecond)
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	young := addBlob(t, s, "app", "young")
	if _, err := s.LinkBlob(ctx, "other", "app", relinked); err != nil {
		t.Fatal(err)
	}
	batch := sorted(g1, g2, relinked, used, young, digest.FromString("never"))
	gone, err := s.DeleteGarbageBlobs(ctx, batch, metadata.SweepCheck{Before: mid})
	if err != nil {
		t.Fatalf("DeleteGarbageBlobs: %v", err)
	}
	got := make([]digest.Digest, len(gone))
	for i, b := range gone {
		got[i] = b.Digest
		if b.Size != int64(len("garbage one")) {
			t.Errorf("%s: size %d, want %d", b.Digest, b.Size, len("garbage one"))
		}
	}
	if want := sorted(g1, g2); !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
	for _, d := range []digest.Digest{g1, g2} {
		wantNoBlob(t, s, "app", d)
	}
	wantBlob(t, s, "other", relinked, int64(len("linked again")))
	wantBlob(t, s, "app", used, int64(len("layer of v1")))
	wantBlob(t, s, "app", young, int64(len("young")))
}
