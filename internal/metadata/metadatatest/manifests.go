package metadatatest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// wantManifest checks that GetManifest returns want, with its references in
// the documented order.
func wantManifest(t *testing.T, s *metadata.Store, want *metadata.Manifest) {
	t.Helper()
	got, err := s.GetManifest(t.Context(), want.Repo, want.Digest)
	if err != nil {
		t.Fatalf("GetManifest(%q, %s): %v", want.Repo, want.Digest, err)
	}
	w := *want
	w.Refs = sortedRefs(want.Refs)
	if diff := cmp.Diff(&w, got); diff != "" {
		t.Errorf("GetManifest(%q, %s) mismatch (-want +got):\n%s", want.Repo, want.Digest, diff)
	}
}

// wantNoManifest checks that GetManifest returns ErrNotFound.
func wantNoManifest(t *testing.T, s *metadata.Store, repo string, dgst digest.Digest) {
	t.Helper()
	_, err := s.GetManifest(t.Context(), repo, dgst)
	wantErr(t, "GetManifest("+repo+", "+dgst.String()+")", err, metadata.ErrNotFound)
}

// sortedRefs deduplicates refs and orders them by kind, then digest.
func sortedRefs(refs []metadata.Ref) []metadata.Ref {
	if len(refs) == 0 {
		return nil
	}
	out := slices.Clone(refs)
	slices.SortFunc(out, func(a, b metadata.Ref) int {
		if a.Kind != b.Kind {
			return cmpString(string(a.Kind), string(b.Kind))
		}
		return cmpString(string(a.Digest), string(b.Digest))
	})
	return slices.Compact(out)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testPutGetManifest(t *testing.T, s *metadata.Store) {
	config := addBlob(t, s, "app", "config")
	layer1 := addBlob(t, s, "app", "layer 1")
	layer2 := addBlob(t, s, "app", "layer 2")
	m := image("app", "v1", config, layer2, layer1, layer2) // duplicate and out of order on purpose
	m.Subject = digest.FromString("some subject")
	m.Annotations = map[string]string{"org.opencontainers.image.title": "app", "a": "ünïcode"}
	put(t, s, m, "v1", "latest")

	wantManifest(t, s, m)
	wantTags(t, s, "app", []string{"latest", "v1"})
	wantResolve(t, s, "app", "v1", m.Digest)
	wantResolve(t, s, "app", "latest", m.Digest)

	// The caller's manifest is not modified.
	if len(m.Refs) != 4 || m.Refs[0].Digest != config {
		t.Errorf("PutManifest modified m.Refs: %v", m.Refs)
	}
	// The returned payload is the caller's to keep.
	got, err := s.GetManifest(t.Context(), "app", m.Digest)
	if err != nil {
		t.Fatal(err)
	}
	got.Payload[0] = 'X'
	wantManifest(t, s, m)
}

func testPutManifestDefaults(t *testing.T, s *metadata.Store) {
	m := image("app", "no extras")
	m.CreatedAt = time.Time{}
	m.Annotations = map[string]string{} // empty reads back nil
	before := time.Now()
	put(t, s, m) // no tags, no refs
	after := time.Now()

	got, err := s.GetManifest(t.Context(), "app", m.Digest)
	if err != nil {
		t.Fatalf("GetManifest: %v", err)
	}
	if got.CreatedAt.Before(before.Truncate(time.Microsecond)) || got.CreatedAt.After(after) {
		t.Errorf("CreatedAt = %v, want between %v and %v", got.CreatedAt, before, after)
	}
	if got.Annotations != nil || got.Refs != nil || got.Subject != "" {
		t.Errorf("GetManifest = annotations %v, refs %v, subject %q; want all empty", got.Annotations, got.Refs, got.Subject)
	}
	wantTags(t, s, "app", []string{})
	// An untagged manifest puts its repository in the catalog.
	repos, err := s.ListRepositories(t.Context(), "", 0)
	if diff := cmp.Diff([]string{"app"}, repos); err != nil || diff != "" {
		t.Errorf("ListRepositories: %v, mismatch (-want +got):\n%s", err, diff)
	}
}

func testGetManifestNotFound(t *testing.T, s *metadata.Store) {
	m := pushImage(t, s, "a", "img", "v1")
	addBlob(t, s, "b", "blob only")
	wantNoManifest(t, s, "a", digest.FromString("never pushed")) // unknown digest
	wantNoManifest(t, s, "b", m.Digest)                          // known in another repository
	wantNoManifest(t, s, "nope", m.Digest)                       // unknown repository
	wantManifest(t, s, m)
}

func testMissingReferences(t *testing.T, s *metadata.Store) {
	present := addBlob(t, s, "app", "present")
	elsewhere := addBlob(t, s, "other", "only in other")
	otherImage := pushImage(t, s, "other", "other image")
	old := pushImage(t, s, "app", "old", "latest")
	unknown := digest.FromString("never pushed")

	tests := []struct {
		name    string
		repo    string
		m       func(repo string) *metadata.Manifest
		missing metadata.Ref
	}{
		{"unknown blob", "app", func(r string) *metadata.Manifest { return image(r, "1", present, unknown) },
			metadata.Ref{Digest: unknown, Kind: metadata.RefBlob}},
		{"blob of another repository", "app", func(r string) *metadata.Manifest { return image(r, "2", elsewhere) },
			metadata.Ref{Digest: elsewhere, Kind: metadata.RefBlob}},
		{"blob in a new repository", "new", func(r string) *metadata.Manifest { return image(r, "3", present) },
			metadata.Ref{Digest: present, Kind: metadata.RefBlob}},
		{"unknown child manifest", "app", func(r string) *metadata.Manifest { return index(r, "4", old.Digest, unknown) },
			metadata.Ref{Digest: unknown, Kind: metadata.RefManifest}},
		{"child manifest of another repository", "app", func(r string) *metadata.Manifest { return index(r, "5", otherImage.Digest) },
			metadata.Ref{Digest: otherImage.Digest, Kind: metadata.RefManifest}},
		{"a blob is not a manifest", "app", func(r string) *metadata.Manifest { return index(r, "6", present) },
			metadata.Ref{Digest: present, Kind: metadata.RefManifest}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m(tc.repo)
			err := s.PutManifest(t.Context(), m, []string{"latest", "new-tag"})
			wantErr(t, "PutManifest", err, metadata.ErrMissingReference)
			var mre *metadata.MissingReferenceError
			if !errors.As(err, &mre) {
				t.Fatalf("PutManifest error %T is not a *MissingReferenceError", err)
			}
			if diff := cmp.Diff(tc.missing, metadata.Ref{Digest: mre.Digest, Kind: mre.Kind}); diff != "" {
				t.Errorf("missing reference mismatch (-want +got):\n%s", diff)
			}
			// Nothing was written: no manifest, no tag moved or created,
			// no repository.
			wantNoManifest(t, s, tc.repo, m.Digest)
			if tc.repo == "new" {
				wantNoRepo(t, s, tc.repo)
				return
			}
			wantTags(t, s, tc.repo, []string{"latest"})
			wantResolve(t, s, tc.repo, "latest", old.Digest)
		})
	}
}

func testInvalidManifests(t *testing.T, s *metadata.Store) {
	valid := func() *metadata.Manifest { return image("app", "valid") }
	tests := []struct {
		name string
		m    *metadata.Manifest
		tags []string
	}{
		{"nil manifest", nil, nil},
		{"empty repository", func() *metadata.Manifest { m := valid(); m.Repo = ""; return m }(), nil},
		{"empty digest", func() *metadata.Manifest { m := valid(); m.Digest = ""; return m }(), nil},
		{"malformed digest", func() *metadata.Manifest { m := valid(); m.Digest = "sha256:xyz"; return m }(), nil},
		{"malformed subject", func() *metadata.Manifest { m := valid(); m.Subject = "nope"; return m }(), nil},
		{"unknown reference kind", func() *metadata.Manifest {
			m := valid()
			m.Refs = []metadata.Ref{{Digest: digest.FromString("x"), Kind: "layer"}}
			return m
		}(), nil},
		{"empty tag", valid(), []string{"v1", ""}},
		{"newline in tag", valid(), []string{"v1\nv2"}},
		{"NUL in repository", func() *metadata.Manifest { m := valid(); m.Repo = "app\x00x"; return m }(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutManifest(t.Context(), tc.m, tc.tags)
			if err == nil || errors.Is(err, metadata.ErrNotFound) || errors.Is(err, metadata.ErrMissingReference) {
				t.Fatalf("PutManifest: got %v, want a validation error", err)
			}
		})
	}
	wantNoRepo(t, s, "app")
}

func testRepushManifest(t *testing.T, s *metadata.Store) {
	m := pushImage(t, s, "app", "img", "v1")
	again := *m
	again.CreatedAt = created.Add(time.Hour) // the first push's time wins
	put(t, s, &again, "v2")
	wantManifest(t, s, m)
	wantTags(t, s, "app", []string{"v1", "v2"})
	wantResolve(t, s, "app", "v2", m.Digest)
}

func testIndexReferences(t *testing.T, s *metadata.Store) {
	amd64 := pushImage(t, s, "app", "amd64")
	arm64 := pushImage(t, s, "app", "arm64")
	idx := index("app", "multi-arch", amd64.Digest, arm64.Digest)
	put(t, s, idx, "latest")
	wantManifest(t, s, idx)
	wantResolve(t, s, "app", "latest", idx.Digest)

	// An index of indexes works too.
	top := index("app", "top", idx.Digest)
	put(t, s, top, "top")
	wantManifest(t, s, top)
}

func testTagMoves(t *testing.T, s *metadata.Store) {
	a := pushImage(t, s, "app", "a", "latest", "a")
	b := pushImage(t, s, "app", "b", "latest", "stable")
	wantResolve(t, s, "app", "latest", b.Digest)
	wantResolve(t, s, "app", "a", a.Digest)
	wantTags(t, s, "app", []string{"a", "latest", "stable"})
	wantManifest(t, s, a) // the old target stays, untagged by latest

	put(t, s, a, "latest", "stable") // move two tags back at once
	wantResolve(t, s, "app", "latest", a.Digest)
	wantResolve(t, s, "app", "stable", a.Digest)
	wantTags(t, s, "app", []string{"a", "latest", "stable"})

	// A tag is per repository.
	c := pushImage(t, s, "other", "c", "latest")
	wantResolve(t, s, "other", "latest", c.Digest)
	wantResolve(t, s, "app", "latest", a.Digest)
}

func testDeleteManifest(t *testing.T, s *metadata.Store) {
	a := pushImage(t, s, "app", "a", "v1", "latest")
	b := pushImage(t, s, "app", "b", "v2")
	lone := pushImage(t, s, "lone", "lone", "only")
	ctx := t.Context()

	if err := s.DeleteManifest(ctx, "app", a.Digest); err != nil {
		t.Fatalf("DeleteManifest: %v", err)
	}
	wantNoManifest(t, s, "app", a.Digest)
	wantTags(t, s, "app", []string{"v2"}) // both tags of a are gone, b's stays
	for _, tag := range []string{"v1", "latest"} {
		_, err := s.ResolveTag(ctx, "app", tag)
		wantErr(t, "ResolveTag "+tag, err, metadata.ErrNotFound)
	}
	wantManifest(t, s, b)
	wantBlob(t, s, "app", a.Refs[0].Digest, int64(len("layer of a"))) // blobs stay for GC

	for _, tc := range []struct {
		name string
		repo string
		dgst digest.Digest
	}{
		{"already deleted", "app", a.Digest},
		{"another repository's manifest", "app", lone.Digest},
		{"unknown repository", "nope", b.Digest},
	} {
		wantErr(t, "DeleteManifest "+tc.name, s.DeleteManifest(ctx, tc.repo, tc.dgst), metadata.ErrNotFound)
	}

	// A repository whose last manifest is deleted leaves the catalog but
	// keeps existing for ListTags.
	if err := s.DeleteManifest(ctx, "lone", lone.Digest); err != nil {
		t.Fatalf("DeleteManifest: %v", err)
	}
	repos, err := s.ListRepositories(ctx, "", 0)
	if diff := cmp.Diff([]string{"app"}, repos); err != nil || diff != "" {
		t.Errorf("ListRepositories: %v, mismatch (-want +got):\n%s", err, diff)
	}
	wantTags(t, s, "lone", []string{})
}

// testDeleteManifestRepushRefs checks that a deleted manifest's references
// are gone: the same digest pushed again with fewer references reads back
// only the new ones.
func testDeleteManifestRepushRefs(t *testing.T, s *metadata.Store) {
	l1 := addBlob(t, s, "app", "l1")
	l2 := addBlob(t, s, "app", "l2")
	m := image("app", "img", l1, l2)
	put(t, s, m, "v1")
	if err := s.DeleteManifest(t.Context(), "app", m.Digest); err != nil {
		t.Fatalf("DeleteManifest: %v", err)
	}
	again := *m
	again.Refs = m.Refs[:1]
	put(t, s, &again)
	wantManifest(t, s, &again)
	wantTags(t, s, "app", []string{}) // the tag did not come back either
}

func testSameDigestTwoRepos(t *testing.T, s *metadata.Store) {
	a := pushImage(t, s, "a", "same", "v1")
	b := pushImage(t, s, "b", "same", "v1")
	if a.Digest != b.Digest {
		t.Fatalf("fixture: digests differ")
	}
	if err := s.DeleteManifest(t.Context(), "a", a.Digest); err != nil {
		t.Fatalf("DeleteManifest: %v", err)
	}
	wantNoManifest(t, s, "a", a.Digest)
	wantManifest(t, s, b)
	wantResolve(t, s, "b", "v1", b.Digest)
}
