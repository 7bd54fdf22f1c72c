package metadatatest

import (
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// testCachedManifest: a manifest the pull-through cache stores before its
// blobs and child manifests, which are referenced all the same.
func testCachedManifest(t *testing.T, s *metadata.Store) {
	layer := digest.FromString("cached layer, not here yet")
	m := image("hub/app", "cached", layer)
	if err := s.PutCachedManifest(t.Context(), m, []string{"1"}); err != nil {
		t.Fatalf("PutCachedManifest without its layer: %v", err)
	}
	wantTags(t, s, "hub/app", []string{"1"})
	child := index("hub/app", "cached index", m.Digest, digest.FromString("a child not here yet"))
	if err := s.PutCachedManifest(t.Context(), child, []string{"multi"}); err != nil {
		t.Fatalf("PutCachedManifest of an index without its children: %v", err)
	}
	for _, tc := range []struct {
		repo string
		d    digest.Digest
		want bool
	}{
		{"hub/app", layer, true},
		{"hub/app", m.Digest, true},
		{"hub/other", layer, false},
		{"hub/app", digest.FromString("nobody's"), false},
	} {
		got, err := s.Referenced(t.Context(), tc.repo, tc.d)
		if err != nil || got != tc.want {
			t.Errorf("Referenced(%s, %s) = %v, %v; want %v", tc.repo, tc.d, got, err, tc.want)
		}
	}
	// A push of the same content still needs its references.
	err := s.PutManifest(t.Context(), image("team/app", "cached", layer), []string{"1"})
	wantErr(t, "PutManifest", err, metadata.ErrMissingReference)
}

// testCachedOrigin: a repository is local, the cache's, or not there; the
// cache claims a name only when no local repository holds it (or when told
// to take it), and the claim outlives the repository.
func testCachedOrigin(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	if err := s.AddBlob(ctx, "team/app", digest.FromString("pushed"), 6); err != nil {
		t.Fatal(err)
	}
	origin := func(repo string, want metadata.Origin, wantHost string) {
		t.Helper()
		o, host, err := s.RepositoryOrigin(ctx, repo)
		if err != nil || o != want || host != wantHost {
			t.Errorf("RepositoryOrigin(%s) = %v %q %v; want %v %q", repo, o, host, err, want, wantHost)
		}
	}
	origin("team/app", metadata.OriginLocal, "")
	origin("library/busybox", metadata.OriginNone, "")
	for _, tc := range []struct {
		repo      string
		takeLocal bool
		want      bool
	}{
		{"library/busybox", false, true}, // never seen
		{"library/busybox", false, true}, // claimed already
		{"team/app", false, false},       // local
		{"hub/team/app", false, true},
	} {
		got, err := s.ClaimCached(ctx, tc.repo, "up.example", tc.takeLocal)
		if err != nil || got != tc.want {
			t.Errorf("ClaimCached(%s, %v) = %v, %v; want %v", tc.repo, tc.takeLocal, got, err, tc.want)
		}
	}
	origin("library/busybox", metadata.OriginCached, "up.example")
	origin("team/app", metadata.OriginLocal, "")
	// A push into a cached repository is refused in its own transaction
	// (one that began before the claim); the cache's own writes are not.
	var cachedErr *metadata.CachedRepositoryError
	err := s.PutManifest(ctx, image("library/busybox", "pushed", digest.FromString("pushed")), []string{"mine"})
	if !errors.As(err, &cachedErr) || cachedErr.Upstream != "up.example" {
		t.Errorf("PutManifest into a cached repository = %v; want a CachedRepositoryError naming up.example", err)
	}
	if err := s.PutCachedManifest(ctx, image("library/busybox", "fetched", digest.FromString("fetched")), []string{"1"}); err != nil {
		t.Errorf("PutCachedManifest into a cached repository: %v", err)
	}
	if got, err := s.ClaimCached(ctx, "team/app", "up.example", true); !got || err != nil {
		t.Errorf("ClaimCached(team/app, takeLocal) = %v, %v; want true", got, err)
	}
	origin("team/app", metadata.OriginCached, "up.example")
	all, err := s.CachedRepositories(ctx)
	if err != nil || len(all) != 3 || all["hub/team/app"] != "up.example" {
		t.Errorf("CachedRepositories = %v, %v; want 3 names", all, err)
	}
}
