package metadatatest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// later is a grace period's start after everything a test wrote: all of it
// counts as old. earlier is one before it: all of it is within the grace.
func later() time.Time   { return time.Now().Add(time.Hour) }
func earlier() time.Time { return time.Now().Add(-time.Hour) }

func garbageDigests(t *testing.T, s *metadata.Store, before time.Time) []digest.Digest {
	t.Helper()
	var out []digest.Digest
	var after digest.Digest
	for {
		// A page of 2 walks the keyset cursor too.
		page, err := s.UnreferencedBlobs(t.Context(), before, after, 2)
		if err != nil {
			t.Fatalf("UnreferencedBlobs: %v", err)
		}
		for _, b := range page {
			out = append(out, b.Digest)
			after = b.Digest
		}
		if len(page) < 2 {
			return out
		}
	}
}

func sorted(ds ...digest.Digest) []digest.Digest {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

// testGCCandidates: a blob is garbage when no manifest refers to it and it
// was neither committed nor linked within the grace period.
func testGCCandidates(t *testing.T, s *metadata.Store) {
	pushImage(t, s, "app", "v1", "latest")
	addBlob(t, s, "app", "shared base") // referred to from the other repository
	put(t, s, image("other", "o1", addBlob(t, s, "other", "shared base")), "o1")
	loose1 := addBlob(t, s, "app", "loose one")
	loose2 := addBlob(t, s, "app", "loose two")
	unlinked := addBlob(t, s, "gone", "unlinked everywhere")
	if err := s.UnlinkBlob(t.Context(), "gone", unlinked); err != nil {
		t.Fatal(err)
	}
	want := sorted(loose1, loose2, unlinked)
	if got := garbageDigests(t, s, later()); !slices.Equal(got, want) {
		t.Errorf("garbage after the grace period = %v, want %v", got, want)
	}
	if got := garbageDigests(t, s, earlier()); len(got) != 0 {
		t.Errorf("garbage within the grace period = %v, want none", got)
	}

	// A blob linked again (an upload of the same bytes, a mount) is about
	// to be referred to: its grace period starts again.
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	if _, err := s.LinkBlob(t.Context(), "app", "", loose1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkBlob(t.Context(), "third", "app", loose2); err != nil {
		t.Fatal(err)
	}
	if got := garbageDigests(t, s, mid); !slices.Equal(got, []digest.Digest{unlinked}) {
		t.Errorf("garbage after relinking = %v, want only %s", got, unlinked)
	}
}

// testGCDeleteBlob: the delete checks again, under the lock, what the
// candidate listing saw.
func testGCDeleteBlob(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	loose := addBlob(t, s, "app", "loose")
	young := addBlob(t, s, "app", "young")
	used := pushImage(t, s, "app", "v1", "v1").Refs[0].Digest

	for _, tc := range []struct {
		name   string
		dgst   digest.Digest
		before time.Time
		want   bool
	}{
		{"referenced", used, later(), false},
		{"within grace", young, earlier(), false},
		{"unknown", digest.FromString("never"), later(), false},
		{"garbage", loose, later(), true},
		{"already deleted", loose, later(), false},
	} {
		size, deleted, err := s.DeleteGarbageBlob(ctx, tc.dgst, metadata.SweepCheck{Before: tc.before})
		if err != nil || deleted != tc.want {
			t.Fatalf("%s: DeleteGarbageBlob = %v, %v; want %v", tc.name, deleted, err, tc.want)
		}
		if deleted && size != int64(len("loose")) {
			t.Errorf("%s: size %d, want %d", tc.name, size, len("loose"))
		}
	}
	wantNoBlob(t, s, "app", loose)
	if ok, err := s.HasBlob(ctx, loose); err != nil || ok {
		t.Errorf("HasBlob(deleted) = %v, %v", ok, err)
	}
	wantBlob(t, s, "app", used, int64(len("layer of v1")))
	wantBlob(t, s, "app", young, 5)
	// The blob can be pushed again after its collection.
	addBlob(t, s, "app", "loose")
	wantBlob(t, s, "app", loose, 5)

	// A batch deletes, in one transaction, only those still garbage.
	a, b := addBlob(t, s, "app", "batch a"), addBlob(t, s, "app", "batch b")
	batch := sorted(a, b, used, digest.FromString("never"))
	gone, err := s.DeleteGarbageBlobs(ctx, batch, metadata.SweepCheck{Before: later()})
	want := []metadata.GarbageBlob{{Digest: a, Size: 7}, {Digest: b, Size: 7}}
	slices.SortFunc(want, func(x, y metadata.GarbageBlob) int { return cmpString(x.Digest.String(), y.Digest.String()) })
	if err != nil || !slices.Equal(gone, want) {
		t.Errorf("DeleteGarbageBlobs = %v, %v; want %v", gone, err, want)
	}
	wantNoBlob(t, s, "app", a)
	wantBlob(t, s, "app", used, int64(len("layer of v1")))
}

// testGCSweepRace is the narrow race between a manifest PUT that checks its
// blobs exist and the sweep deleting one: either order ends with the image
// complete or the PUT refused with a missing reference, never a manifest
// that refers to a deleted blob.
func testGCSweepRace(t *testing.T, s *metadata.Store) {
	ctx := t.Context()

	// The sweep first: the PUT arrives while the sweep holds the blob's
	// row and has deleted it. It must wait, then find nothing.
	blob := addBlob(t, s, "app", "raced layer")
	m := image("app", "raced", blob)
	putDone := make(chan error, 1)
	_, deleted, err := s.DeleteGarbageBlob(ctx, blob, metadata.SweepCheck{Before: later(), Deleted: func() {
		go func() { putDone <- s.PutManifest(ctx, m, []string{"raced"}) }()
		select {
		case err := <-putDone:
			// Without the lock the PUT saw the committed link and stored
			// a manifest whose blob this sweep is about to delete.
			t.Errorf("PutManifest finished while the sweep held the blob: %v", err)
			putDone <- err
		case <-time.After(300 * time.Millisecond):
		}
	}})
	if err != nil || !deleted {
		t.Fatalf("DeleteGarbageBlob = %v, %v; want deleted", deleted, err)
	}
	err = <-putDone
	var missing *metadata.MissingReferenceError
	if !errors.As(err, &missing) || missing.Digest != blob {
		t.Fatalf("PutManifest after the sweep = %v, want a missing reference to %s", err, blob)
	}
	wantNoManifest(t, s, "app", m.Digest)

	// The PUT first: it commits after the candidate listing saw the blob
	// unreferenced and before the sweep's transaction; the sweep sees the
	// reference under the lock and keeps the blob.
	blob2 := addBlob(t, s, "app", "second raced layer")
	if got := garbageDigests(t, s, later()); !slices.Contains(got, blob2) {
		t.Fatalf("garbage = %v, want it to list %s", got, blob2)
	}
	m2 := image("app", "raced2", blob2)
	put(t, s, m2, "raced2")
	if _, deleted, err := s.DeleteGarbageBlob(ctx, blob2, metadata.SweepCheck{Before: later()}); err != nil || deleted {
		t.Fatalf("DeleteGarbageBlob(referenced since) = %v, %v; want kept", deleted, err)
	}
	wantManifest(t, s, m2)
	wantBlob(t, s, "app", blob2, int64(len("second raced layer")))
}

// testGCLease: one holder at a time; an expired lease can be taken over;
// the holder renews and releases it.
func testGCLease(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	if l, err := s.CurrentLease(ctx, "gc"); err != nil || l != (metadata.Lease{}) {
		t.Fatalf("CurrentLease before any = %+v, %v", l, err)
	}
	a, err := s.AcquireLease(ctx, "gc", "replica a", time.Minute)
	if err != nil || a.Holder != "replica a" {
		t.Fatalf("AcquireLease(a) = %+v, %v", a, err)
	}
	_, err = s.AcquireLease(ctx, "gc", "replica b", time.Minute)
	var held *metadata.LeaseHeldError
	if !errors.As(err, &held) || held.Lease.Holder != "replica a" || !held.Lease.ExpiresAt.Equal(a.ExpiresAt.Truncate(time.Nanosecond)) {
		t.Fatalf("AcquireLease(b) while a holds it = %v, want held by replica a until %s", err, a.ExpiresAt)
	}
	if err := s.RenewLease(ctx, "gc", "replica a", time.Minute); err != nil {
		t.Errorf("RenewLease(a) = %v", err)
	}
	if err := s.RenewLease(ctx, "gc", "replica b", time.Minute); !errors.Is(err, metadata.ErrLeaseLost) {
		t.Errorf("RenewLease(b) = %v, want ErrLeaseLost", err)
	}
	if l, err := s.CurrentLease(ctx, "gc"); err != nil || l.Holder != "replica a" {
		t.Errorf("CurrentLease = %+v, %v; want replica a", l, err)
	}
	if err := s.ReleaseLease(ctx, "gc", "replica a"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.CurrentLease(ctx, "gc"); err != nil || l != (metadata.Lease{}) {
		t.Errorf("CurrentLease after release = %+v, %v; want none", l, err)
	}
	// b takes it, with a lease that expires at once; a takes it over.
	if _, err := s.AcquireLease(ctx, "gc", "replica b", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := s.AcquireLease(ctx, "gc", "replica a", time.Minute); err != nil {
		t.Fatalf("AcquireLease over an expired lease = %v", err)
	}
	if err := s.RenewLease(ctx, "gc", "replica b", time.Minute); !errors.Is(err, metadata.ErrLeaseLost) {
		t.Errorf("RenewLease by the expired holder = %v, want ErrLeaseLost", err)
	}

	// Many contenders at once: exactly one wins.
	if err := s.ReleaseLease(ctx, "gc", "replica a"); err != nil {
		t.Fatal(err)
	}
	errs := race(func(i int) error {
		_, err := s.AcquireLease(ctx, "gc", "contender "+string(rune('a'+i)), time.Minute)
		return err
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.As(err, &held):
			t.Errorf("AcquireLease: unexpected error %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d contenders acquired the lease, want 1", won)
	}
}
