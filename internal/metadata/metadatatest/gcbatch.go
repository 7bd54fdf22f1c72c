package metadatatest

import (
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
