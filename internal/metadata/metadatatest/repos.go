package metadatatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// blobOf adds content to repo as a blob and returns its digest.
func blobOf(t *testing.T, s *metadata.Store, repo, content string) digest.Digest {
	t.Helper()
	return addBlob(t, s, repo, content)
}

// sizes builds the shared-layer fixture: team/app and team/db share the
// base layer; solo has its own. It returns the byte counts each should have.
func sharedLayers(t *testing.T, s *metadata.Store) (app, db, base, own int64) {
	t.Helper()
	baseLayer := "base layer shared by every image of the team, 64 bytes long ....."
	for _, repo := range []string{"team/app", "team/db"} {
		b := blobOf(t, s, repo, baseLayer)
		o := blobOf(t, s, repo, "own layer of "+repo)
		m := image(repo, repo, b, o)
		put(t, s, m, "v1", "latest")
		// A second image of the same repository reusing the base: the
		// base counts once in the repository.
		m2 := image(repo, repo+"-2", b)
		put(t, s, m2, "v2")
		size := int64(len(baseLayer)) + int64(len("own layer of "+repo)) + m.Size + m2.Size
		if repo == "team/app" {
			app = size
		} else {
			db = size
		}
		own += size - int64(len(baseLayer))
	}
	// A linked blob no manifest refers to counts nothing.
	blobOf(t, s, "team/app", "dangling upload")
	return app, db, int64(len(baseLayer)), own
}

func testRepositoryStats(t *testing.T, s *metadata.Store) {
	app, db, base, own := sharedLayers(t, s)
	solo := pushImage(t, s, "solo", "solo", "only")
	addBlob(t, s, "blobs-only", "no manifest here")
	ctx := t.Context()

	got, err := s.RepositoryStats(ctx, "", "", 0)
	if err != nil {
		t.Fatalf("RepositoryStats: %v", err)
	}
	soloBytes := int64(len("layer of solo")) + solo.Size
	want := []metadata.RepositoryStats{
		{Name: "solo", Tags: 1, Manifests: 1, Bytes: soloBytes},
		{Name: "team/app", Tags: 3, Manifests: 2, Bytes: app},
		{Name: "team/db", Tags: 3, Manifests: 2, Bytes: db},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(metadata.RepositoryStats{}, "LastPush", "LastPull")); diff != "" {
		t.Errorf("RepositoryStats mismatch (-want +got):\n%s", diff)
	}
	for _, r := range got {
		if r.LastPush.IsZero() || !r.LastPull.IsZero() {
			t.Errorf("%s: LastPush %v, LastPull %v; want a push and no pull yet", r.Name, r.LastPush, r.LastPull)
		}
	}

	// A pull of solo's manifest shows as solo's last pull once flushed.
	before := time.Now().Add(-time.Second)
	s.RecordPull("solo", "only", solo.Digest)
	if err := s.FlushPulls(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = s.RepositoryStats(ctx, "", "", 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("RepositoryStats after a pull: %+v, %v", got, err)
	}
	if got[0].Name != "solo" || got[0].LastPull.Before(before) || !got[1].LastPull.IsZero() {
		t.Errorf("after a pull of solo: %s pulled %v, %s pulled %v; want solo just now, team/app never",
			got[0].Name, got[0].LastPull, got[1].Name, got[1].LastPull)
	}

	// Prefix and paging.
	page, err := s.RepositoryStats(ctx, "team/", "team/app", 1)
	if err != nil || len(page) != 1 || page[0].Name != "team/db" {
		t.Errorf("RepositoryStats(team/, after team/app, 1) = %+v, %v; want team/db", page, err)
	}
	page, err = s.RepositoryStats(ctx, "nope/", "", 0)
	if err != nil || len(page) != 0 {
		t.Errorf("RepositoryStats(nope/) = %+v, %v; want none", page, err)
	}

	// The same page as names alone, and the stats of chosen names (a
	// repository without a manifest, or none at all, is left out).
	names, err := s.RepositoryNames(ctx, "", "", 0)
	if err != nil || !slices.Equal(names, []string{"solo", "team/app", "team/db"}) {
		t.Errorf("RepositoryNames = %q, %v; want solo, team/app, team/db", names, err)
	}
	if names, err = s.RepositoryNames(ctx, "team/", "team/app", 1); err != nil || !slices.Equal(names, []string{"team/db"}) {
		t.Errorf("RepositoryNames(team/, after team/app, 1) = %q, %v; want team/db", names, err)
	}
	// A page of tags reads its manifests' payloads in one query.
	tags, err := s.RepositoryTags(ctx, "team/app")
	if err != nil || len(tags) == 0 {
		t.Fatalf("RepositoryTags(team/app) = %v, %v", tags, err)
	}
	payloads, err := s.ManifestPayloads(ctx, "team/app", []digest.Digest{tags[0].Digest, digest.Digest("sha256:" + strings.Repeat("0", 64))})
	if err != nil || len(payloads) != 1 {
		t.Fatalf("ManifestPayloads = %v, %v; want the one manifest team/app holds", payloads, err)
	}
	if one, err := s.GetManifest(ctx, "team/app", tags[0].Digest); err != nil || !bytes.Equal(one.Payload, payloads[tags[0].Digest].Payload) ||
		one.MediaType != payloads[tags[0].Digest].MediaType || one.Size != payloads[tags[0].Digest].Size {
		t.Errorf("ManifestPayloads differs from GetManifest: %+v, %v", one, err)
	}
	// Pages of tags in each order agree with the whole list.
	byName := slices.Clone(tags)
	byTime := slices.Clone(tags)
	slices.SortStableFunc(byTime, func(a, b metadata.TagInfo) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, tc := range []struct {
		q    metadata.TagPageQuery
		want []metadata.TagInfo
	}{
		{metadata.TagPageQuery{Limit: 2}, byName[:2]},
		{metadata.TagPageQuery{Offset: 2, Limit: 2}, byName[2:]},
		{metadata.TagPageQuery{Desc: true, Limit: 1}, byName[len(byName)-1:]},
		{metadata.TagPageQuery{ByUpdated: true}, byTime},
		{metadata.TagPageQuery{ByUpdated: true, Desc: true, Limit: 1}, byTime[len(byTime)-1:]},
	} {
		page, total, err := s.TagPage(ctx, "team/app", tc.q)
		if err != nil || total != int64(len(tags)) {
			t.Fatalf("TagPage(%+v) = %d tags, %v; want %d", tc.q, total, err, len(tags))
		}
		if diff := cmp.Diff(tc.want, page); diff != "" {
			t.Errorf("TagPage(%+v) mismatch (-want +got):\n%s", tc.q, diff)
		}
	}
	if _, _, err := s.TagPage(ctx, "never-pushed", metadata.TagPageQuery{}); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("TagPage(never-pushed): %v; want ErrNotFound", err)
	}
	of, err := s.RepositoryStatsOf(ctx, []string{"team/db", "blobs-only", "never-pushed", "solo"})
	if err != nil {
		t.Fatalf("RepositoryStatsOf: %v", err)
	}
	if diff := cmp.Diff([]metadata.RepositoryStats{want[0], want[2]}, of, cmpopts.IgnoreFields(metadata.RepositoryStats{}, "LastPush", "LastPull")); diff != "" {
		t.Errorf("RepositoryStatsOf mismatch (-want +got):\n%s", diff)
	}

	// The namespace counts the shared base once.
	ns, err := s.NamespaceStats(ctx, "")
	if err != nil {
		t.Fatalf("NamespaceStats: %v", err)
	}
	wantNS := []metadata.NamespaceStats{
		{Namespace: "solo", Repositories: 1, Tags: 1, Manifests: 1, Bytes: soloBytes},
		{Namespace: "team/", Repositories: 2, Tags: 6, Manifests: 4, Bytes: own + base},
	}
	if diff := cmp.Diff(wantNS, ns, cmpopts.IgnoreFields(metadata.NamespaceStats{}, "LastPush")); diff != "" {
		t.Errorf("NamespaceStats mismatch (-want +got):\n%s", diff)
	}
	if app+db != own+2*base {
		t.Fatalf("fixture: %d+%d != %d+2*%d", app, db, own, base)
	}
	usage, err := s.Usage(ctx, []string{"team/app", "team/db", "never-pushed"})
	if err != nil || usage != own+base {
		t.Errorf("Usage(team/*) = %d, %v; want %d", usage, err, own+base)
	}
	if usage, err := s.Usage(ctx, nil); err != nil || usage != 0 {
		t.Errorf("Usage(none) = %d, %v; want 0", usage, err)
	}
}

func testAddedBytes(t *testing.T, s *metadata.Store) {
	_, _, base, _ := sharedLayers(t, s)
	ctx := t.Context()
	team := []string{"team/app", "team/db", "team/new"}

	// A new repository of the namespace reusing the base and one new layer:
	// only the new layer and the manifest are added.
	b := blobOf(t, s, "team/new", "base layer shared by every image of the team, 64 bytes long .....")
	n := blobOf(t, s, "team/new", "fresh")
	m := image("team/new", "new", b, n, n)
	got, err := s.AddedBytes(ctx, team, m)
	if want := int64(len("fresh")) + m.Size; err != nil || got != want {
		t.Errorf("AddedBytes(team, new image) = %d, %v; want %d", got, err, want)
	}
	// Alone, the repository has nothing yet: base, layer and manifest.
	got, err = s.AddedBytes(ctx, []string{"team/new"}, m)
	if want := base + int64(len("fresh")) + m.Size; err != nil || got != want {
		t.Errorf("AddedBytes(team/new, new image) = %d, %v; want %d", got, err, want)
	}
	put(t, s, m, "v1")
	// Pushed again (a tag move): nothing is added.
	got, err = s.AddedBytes(ctx, team, m)
	if err != nil || got != 0 {
		t.Errorf("AddedBytes(team, re-push) = %d, %v; want 0", got, err)
	}
}

func testDeleteRepository(t *testing.T, s *metadata.Store) {
	a := pushImage(t, s, "team/app", "a", "v1", "latest")
	pushImage(t, s, "team/app", "b", "v2")
	other := pushImage(t, s, "team/db", "a", "v1") // same layer content, other repository
	ctx := t.Context()

	got, err := s.DeleteRepository(ctx, "team/app")
	if err != nil {
		t.Fatalf("DeleteRepository: %v", err)
	}
	if want := (metadata.DeletedRepository{Tags: 3, Manifests: 2, BlobLinks: 2}); got != want {
		t.Errorf("DeleteRepository = %+v, want %+v", got, want)
	}
	wantNoRepo(t, s, "team/app")
	wantNoManifest(t, s, "team/app", a.Digest)
	wantNoBlob(t, s, "team/app", a.Refs[0].Digest)
	_, err = s.ResolveTag(ctx, "team/app", "v1")
	wantErr(t, "ResolveTag after DeleteRepository", err, metadata.ErrNotFound)
	// The other repository keeps the shared blob and its manifest.
	wantManifest(t, s, other)
	wantBlob(t, s, "team/db", other.Refs[0].Digest, int64(len("layer of a")))
	repos, err := s.ListRepositories(ctx, "", 0)
	if diff := cmp.Diff([]string{"team/db"}, repos); err != nil || diff != "" {
		t.Errorf("ListRepositories: %v, mismatch (-want +got):\n%s", err, diff)
	}
	_, err = s.DeleteRepository(ctx, "team/app")
	wantErr(t, "DeleteRepository again", err, metadata.ErrNotFound)
	_, err = s.RepositoryTags(ctx, "team/app")
	wantErr(t, "RepositoryTags after delete", err, metadata.ErrNotFound)

	// Pushing again starts from nothing.
	again := pushImage(t, s, "team/app", "c", "v1")
	wantTags(t, s, "team/app", []string{"v1"})
	tags, err := s.RepositoryTags(ctx, "team/app")
	if err != nil || len(tags) != 1 || tags[0].Name != "v1" || tags[0].Digest != again.Digest || tags[0].UpdatedAt.IsZero() {
		t.Errorf("RepositoryTags = %+v, %v; want v1 → %s", tags, err, again.Digest)
	}
}

// Image links blobs (content key → size; the digest is the key's) into
// repo and returns an image manifest referring to them, 100 bytes long,
// not yet stored: the fixture of the packages that count sizes.
func Image(t testing.TB, s *metadata.Store, repo, name string, blobs map[string]int64) *metadata.Manifest {
	t.Helper()
	payload := []byte(fmt.Sprintf("%-100s", name))
	m := &metadata.Manifest{Repo: repo, Digest: digest.FromBytes(payload), MediaType: mediaManifest,
		Size: int64(len(payload)), Payload: payload}
	for key, size := range blobs {
		d := digest.FromString(key)
		if err := s.AddBlob(context.Background(), repo, d, size); err != nil {
			t.Fatalf("AddBlob(%q, %s): %v", repo, d, err)
		}
		m.Refs = append(m.Refs, metadata.Ref{Digest: d, Kind: metadata.RefBlob})
	}
	return m
}
