package metadatatest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// frozen is a guard that makes the tags starting with "v" of "prod"
// immutable.
func frozen(repo, tag string) (string, bool) {
	return "prod/v*", repo == "prod" && strings.HasPrefix(tag, "v")
}

// state reads repo's retention state.
func state(t *testing.T, s *metadata.Store, repo string) *metadata.RepositoryState {
	t.Helper()
	st, err := s.RepositoryState(t.Context(), repo)
	if err != nil {
		t.Fatalf("RepositoryState(%s): %v", repo, err)
	}
	return st
}

func tagOf(st *metadata.RepositoryState, name string) (metadata.RetentionTag, bool) {
	for _, tg := range st.Tags {
		if tg.Name == name {
			return tg, true
		}
	}
	return metadata.RetentionTag{}, false
}

func manifestOf(st *metadata.RepositoryState, d digest.Digest) (metadata.RetentionManifest, bool) {
	for _, m := range st.Manifests {
		if m.Digest == d {
			return m, true
		}
	}
	return metadata.RetentionManifest{}, false
}

// testPullTimes: pulls by tag set the tag's and the manifest's pull time,
// pulls by digest the manifest's only; nothing is written before a flush,
// and a flush never moves a time backwards.
func testPullTimes(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	a := pushImage(t, s, "app", "a", "v1", "v2")
	b := pushImage(t, s, "app", "b")
	before := time.Now()
	s.RecordPull("app", "v1", a.Digest)
	s.RecordPull("app", "", b.Digest)
	s.RecordPull("nope", "v1", a.Digest) // unknown repository: ignored
	st := state(t, s, "app")
	if v1, _ := tagOf(st, "v1"); !v1.PulledAt.IsZero() {
		t.Fatalf("pull time written before a flush: %v", v1.PulledAt)
	}
	if err := s.FlushPulls(ctx); err != nil {
		t.Fatalf("FlushPulls: %v", err)
	}
	st = state(t, s, "app")
	v1, _ := tagOf(st, "v1")
	v2, _ := tagOf(st, "v2")
	ma, _ := manifestOf(st, a.Digest)
	mb, _ := manifestOf(st, b.Digest)
	if v1.PulledAt.Before(before) || ma.PulledAt.Before(before) || mb.PulledAt.Before(before) {
		t.Fatalf("pull times after flush: v1 %v, a %v, b %v; want after %v", v1.PulledAt, ma.PulledAt, mb.PulledAt, before)
	}
	if !v2.PulledAt.IsZero() {
		t.Fatalf("v2 was never pulled but has pull time %v", v2.PulledAt)
	}
	if v1.Digest != a.Digest || v1.PushedAt.IsZero() {
		t.Fatalf("tag v1 = %+v; want digest %s and a push time", v1, a.Digest)
	}
	// A second store (another replica) flushing an older time changes
	// nothing: pull times only move forward.
	first := v1.PulledAt
	s.RecordPull("app", "v1", a.Digest)
	if err := s.FlushPulls(ctx); err != nil {
		t.Fatal(err)
	}
	if v1, _ = tagOf(state(t, s, "app"), "v1"); v1.PulledAt.Before(first) {
		t.Fatalf("pull time went back: %v < %v", v1.PulledAt, first)
	}
	if err := s.FlushPulls(ctx); err != nil { // nothing pending
		t.Fatalf("empty FlushPulls: %v", err)
	}
}

// testRepositoryState: tags with their digests, manifests with their index
// children and subjects.
func testRepositoryState(t *testing.T, s *metadata.Store) {
	amd := pushImage(t, s, "app", "amd64")
	arm := pushImage(t, s, "app", "arm64")
	idx := index("app", "multi", amd.Digest, arm.Digest)
	put(t, s, idx, "latest")
	sig := referrer("app", "sig", typeSignature, idx.Digest, nil)
	put(t, s, sig)
	st := state(t, s, "app")
	if len(st.Tags) != 1 || st.Tags[0].Name != "latest" || st.Tags[0].Digest != idx.Digest {
		t.Fatalf("tags = %+v; want latest → %s", st.Tags, idx.Digest)
	}
	if len(st.Manifests) != 4 {
		t.Fatalf("%d manifests, want 4: %+v", len(st.Manifests), st.Manifests)
	}
	mi, _ := manifestOf(st, idx.Digest)
	if len(mi.Children) != 2 || mi.MediaType != mediaIndex {
		t.Fatalf("index = %+v; want 2 children", mi)
	}
	if ms, _ := manifestOf(st, sig.Digest); ms.Subject != idx.Digest {
		t.Fatalf("referrer's subject = %q, want %s", ms.Subject, idx.Digest)
	}
	if ma, _ := manifestOf(st, amd.Digest); len(ma.Children) != 0 || ma.CreatedAt.IsZero() {
		t.Fatalf("image = %+v; want no children and a creation time", ma)
	}
	_, err := s.RepositoryState(t.Context(), "nope")
	wantErr(t, "RepositoryState of an unknown repository", err, metadata.ErrNotFound)
}

// testRetentionDeletes: UntagIf (fsck's too) leaves a moved tag alone; DeleteUntagged
// refuses a manifest that is tagged, an index's child or a subject.
func testRetentionDeletes(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	a := pushImage(t, s, "app", "a", "old")
	b := pushImage(t, s, "app", "b")
	put(t, s, b, "old") // "old" moved to b after retention read it at a
	if removed, err := s.UntagIf(ctx, "app", "old", a.Digest); err != nil || removed {
		t.Fatalf("UntagIf of a moved tag = %v, %v; want it left alone", removed, err)
	}
	wantResolve(t, s, "app", "old", b.Digest)
	if removed, err := s.UntagIf(ctx, "app", "old", b.Digest); err != nil || !removed {
		t.Fatalf("UntagIf = %v, %v", removed, err)
	}
	wantTags(t, s, "app", []string{})

	idx := index("app", "idx", a.Digest)
	put(t, s, idx)
	sig := referrer("app", "sig", typeSignature, b.Digest, nil)
	put(t, s, sig)
	tagged := pushImage(t, s, "app", "tagged", "t")
	for _, tc := range []struct {
		name string
		d    digest.Digest
	}{{"index child", a.Digest}, {"subject of a referrer", b.Digest}, {"tagged", tagged.Digest}} {
		wantErr(t, "DeleteUntagged "+tc.name, s.DeleteUntagged(ctx, "app", tc.d, later()), metadata.ErrStillReferenced)
		wantManifest(t, s, manifestByDigest(t, s, "app", tc.d))
	}
	// Parents first, then what they held.
	for _, d := range []digest.Digest{idx.Digest, sig.Digest, a.Digest, b.Digest} {
		if err := s.DeleteUntagged(ctx, "app", d, later()); err != nil {
			t.Fatalf("DeleteUntagged(%s): %v", d, err)
		}
		wantNoManifest(t, s, "app", d)
	}
	wantErr(t, "DeleteUntagged again", s.DeleteUntagged(ctx, "app", a.Digest, later()), metadata.ErrNotFound)
}

// testRetentionUsedSince: DeleteUntagged keeps an untagged manifest pushed
// again or pulled at or after the time it is given, and RepositoryState
// shows the new push: retention and gc --delete-untagged both rely on it
// to spare the children of an index whose push is under way.
func testRetentionUsedSince(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	loose := pushImage(t, s, "app", "loose")
	pulled := pushImage(t, s, "app", "pulled")
	gone := pushImage(t, s, "app", "gone")
	time.Sleep(2 * time.Millisecond)
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	put(t, s, loose) // pushed again, as an index's child is before its index
	s.RecordPull("app", "", pulled.Digest)
	if err := s.FlushPulls(ctx); err != nil {
		t.Fatal(err)
	}
	st := state(t, s, "app")
	ml, _ := manifestOf(st, loose.Digest)
	if !ml.PushedAt.After(mid) || ml.CreatedAt.After(mid) {
		t.Errorf("re-pushed manifest: created %s, pushed %s; want created before %s and pushed after", ml.CreatedAt, ml.PushedAt, mid)
	}
	for _, d := range []digest.Digest{loose.Digest, pulled.Digest} {
		wantErr(t, "DeleteUntagged of a manifest used since", s.DeleteUntagged(ctx, "app", d, mid), metadata.ErrUsedSince)
		wantManifest(t, s, manifestByDigest(t, s, "app", d))
	}
	if err := s.DeleteUntagged(ctx, "app", gone.Digest, mid); err != nil {
		t.Fatalf("DeleteUntagged of a manifest unused since: %v", err)
	}
	wantNoManifest(t, s, "app", gone.Digest)
}

func manifestByDigest(t *testing.T, s *metadata.Store, repo string, d digest.Digest) *metadata.Manifest {
	t.Helper()
	m, err := s.GetManifest(t.Context(), repo, d)
	if err != nil {
		t.Fatalf("GetManifest(%s): %v", d, err)
	}
	return m
}

// testImmutableTags: an immutable tag is created once and then only pushed
// again at the same digest; it cannot be deleted, nor its manifest; other
// tags move as before.
func testImmutableTags(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	s.SetTagGuard(frozen)
	a := pushImage(t, s, "prod", "a", "v1", "latest")
	b := pushImage(t, s, "prod", "b")
	put(t, s, a, "v1") // the same digest again is fine
	put(t, s, b, "latest")
	err := s.PutManifest(ctx, b, []string{"v1"})
	var ie *metadata.ImmutableTagError
	if !errors.As(err, &ie) || ie.Tag != "v1" || ie.Rule != "prod/v*" || ie.Current != a.Digest || ie.Delete {
		t.Fatalf("moving v1: got %v; want an ImmutableTagError naming v1, the rule and %s", err, a.Digest)
	}
	if !strings.Contains(err.Error(), a.Digest.String()) || !strings.Contains(err.Error(), "prod/v*") {
		t.Fatalf("message %q names neither the digest nor the rule", err)
	}
	wantResolve(t, s, "prod", "v1", a.Digest)
	// A push carrying an immutable tag among others stores nothing.
	c := pushImage(t, s, "prod", "c")
	wantErr(t, "push with v1 among its tags", s.PutManifest(ctx, c, []string{"w", "v1"}), metadata.ErrImmutableTag)
	wantTags(t, s, "prod", []string{"latest", "v1"})

	wantErr(t, "DeleteTag v1", s.DeleteTag(ctx, "prod", "v1"), metadata.ErrImmutableTag)
	wantErr(t, "DeleteManifest holding v1", s.DeleteManifest(ctx, "prod", a.Digest), metadata.ErrImmutableTag)
	wantManifest(t, s, a)
	wantResolve(t, s, "prod", "v1", a.Digest)
	if err := s.DeleteTag(ctx, "prod", "latest"); err != nil {
		t.Fatalf("DeleteTag of a mutable tag: %v", err)
	}
	// The same names elsewhere are not frozen.
	o := pushImage(t, s, "other", "o", "v1")
	put(t, s, pushImage(t, s, "other", "p"), "v1")
	if err := s.DeleteManifest(ctx, "other", o.Digest); err != nil {
		t.Fatal(err)
	}
	s.SetTagGuard(nil)
	put(t, s, b, "v1")
	wantResolve(t, s, "prod", "v1", b.Digest)
}

// testImmutableTagRace: pushes of different digests racing to create the
// same immutable tag: exactly one wins and the tag never moves after.
func testImmutableTagRace(t *testing.T, s *metadata.Store) {
	s.SetTagGuard(frozen)
	ms := make([]*metadata.Manifest, writers)
	for i := range ms {
		ms[i] = pushImage(t, s, "prod", fmt.Sprintf("m%d", i))
	}
	errs := race(func(i int) error { return s.PutManifest(t.Context(), ms[i], []string{"v1"}) })
	winners := 0
	var won digest.Digest
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			won = ms[i].Digest
		case !errors.Is(err, metadata.ErrImmutableTag):
			t.Errorf("push %d: %v; want success or ErrImmutableTag", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d pushes created the immutable tag; want exactly 1", winners)
	}
	wantResolve(t, s, "prod", "v1", won)
}

// testReadOnly: read-only mode round-trips and checks its reason.
func testReadOnly(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	st, err := s.ReadOnly(ctx)
	if err != nil || st.Enabled || st.Reason != "" || !st.UpdatedAt.IsZero() {
		t.Fatalf("initial ReadOnly = %+v, %v; want off, never set", st, err)
	}
	if err := s.SetReadOnly(ctx, true, "moving to new disks — back at 14:00"); err != nil {
		t.Fatal(err)
	}
	st, err = s.ReadOnly(ctx)
	if err != nil || !st.Enabled || st.Reason != "moving to new disks — back at 14:00" || st.UpdatedAt.IsZero() {
		t.Fatalf("ReadOnly = %+v, %v; want on with the reason", st, err)
	}
	for _, bad := range []string{strings.Repeat("x", metadata.MaxReadOnlyReason+1), "two\nlines", "\xff"} {
		wantErr(t, fmt.Sprintf("SetReadOnly(%.10q)", bad), s.SetReadOnly(ctx, false, bad), metadata.ErrInvalidKey)
	}
	if err := s.SetReadOnly(ctx, false, ""); err != nil {
		t.Fatal(err)
	}
	if st, err = s.ReadOnly(ctx); err != nil || st.Enabled {
		t.Fatalf("ReadOnly after turning it off = %+v, %v", st, err)
	}
}
