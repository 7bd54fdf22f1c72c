package metadatatest

import (
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// wantBlob checks that dgst is linked in repo with size.
func wantBlob(t *testing.T, s *metadata.Store, repo string, dgst digest.Digest, size int64) {
	t.Helper()
	got, err := s.RepoBlob(t.Context(), repo, dgst)
	if err != nil {
		t.Fatalf("RepoBlob(%q, %s): %v", repo, dgst, err)
	}
	if got != size {
		t.Errorf("RepoBlob(%q, %s) = %d, want %d", repo, dgst, got, size)
	}
}

// wantNoBlob checks that dgst is not linked in repo.
func wantNoBlob(t *testing.T, s *metadata.Store, repo string, dgst digest.Digest) {
	t.Helper()
	_, err := s.RepoBlob(t.Context(), repo, dgst)
	wantErr(t, fmt.Sprintf("RepoBlob(%q, %s)", repo, dgst), err, metadata.ErrNotFound)
}

func testAddBlob(t *testing.T, s *metadata.Store) {
	d := addBlob(t, s, "library/alpine", "alpine layer")
	wantBlob(t, s, "library/alpine", d, int64(len("alpine layer")))
	wantNoBlob(t, s, "library/busybox", d)                                // repository unknown
	wantNoBlob(t, s, "library/alpine", digest.FromString("never pushed")) // digest unknown

	// The repository exists now, without tags, and is not in the catalog
	// because it has no manifest.
	wantTags(t, s, "library/alpine", []string{})
	repos, err := s.ListRepositories(t.Context(), "", 0)
	if err != nil || len(repos) != 0 {
		t.Errorf("ListRepositories = %q, %v; want no repository", repos, err)
	}

	// A zero-length blob is a blob like any other.
	empty := addBlob(t, s, "library/alpine", "")
	wantBlob(t, s, "library/alpine", empty, 0)
}

func testAddBlobIdempotent(t *testing.T, s *metadata.Store) {
	d := addBlob(t, s, "a", "content")
	for range 3 {
		addBlob(t, s, "a", "content")
	}
	addBlob(t, s, "b", "content") // the same blob, another repository
	wantBlob(t, s, "a", d, 7)
	wantBlob(t, s, "b", d, 7)

	// Unlinking once removes the link however many times it was added.
	if err := s.UnlinkBlob(t.Context(), "a", d); err != nil {
		t.Fatalf("UnlinkBlob: %v", err)
	}
	wantNoBlob(t, s, "a", d)
	wantBlob(t, s, "b", d, 7)
}

func testLinkBlob(t *testing.T, s *metadata.Store) {
	shared := addBlob(t, s, "src", "shared layer")
	unlinked := addBlob(t, s, "src", "unlinked layer")
	if err := s.UnlinkBlob(t.Context(), "src", unlinked); err != nil {
		t.Fatalf("UnlinkBlob: %v", err)
	}
	other := addBlob(t, s, "other", "other layer")
	unknown := digest.FromString("never pushed")

	tests := []struct {
		name     string
		repo     string
		from     string
		dgst     digest.Digest
		wantSize int64 // -1: ErrNotFound
	}{
		{"from repository that links it", "dst", "src", shared, 12},
		{"from the same repository", "src", "src", shared, 12},
		{"from a repository that does not link it", "dst", "src", other, -1},
		{"from a repository that unlinked it", "dst", "src", unlinked, -1},
		{"from a repository that does not exist", "dst", "nope", shared, -1},
		{"from a repository, unknown blob", "dst", "src", unknown, -1},
		{"from anywhere, known blob", "dst", "", other, 11},
		{"from anywhere, unlinked but committed blob", "dst", "", unlinked, 14},
		{"from anywhere, unknown blob", "dst", "", unknown, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case mounts into its own repository so cases stay
			// independent; "from the same repository" keeps src.
			repo := tc.repo
			if repo == "dst" {
				repo = "dst/" + tc.name
			}
			size, err := s.LinkBlob(t.Context(), repo, tc.from, tc.dgst)
			if tc.wantSize < 0 {
				wantErr(t, "LinkBlob", err, metadata.ErrNotFound)
				wantNoBlob(t, s, repo, tc.dgst)
				wantNoRepo(t, s, repo) // a failed mount creates nothing
				return
			}
			if err != nil {
				t.Fatalf("LinkBlob(%q, %q, %s): %v", repo, tc.from, tc.dgst, err)
			}
			if size != tc.wantSize {
				t.Errorf("LinkBlob size = %d, want %d", size, tc.wantSize)
			}
			wantBlob(t, s, repo, tc.dgst, tc.wantSize)
			wantTags(t, s, repo, []string{}) // the mount created the repository
			// Mounting again is fine.
			if _, err := s.LinkBlob(t.Context(), repo, tc.from, tc.dgst); err != nil {
				t.Errorf("second LinkBlob: %v", err)
			}
		})
	}
}

func testUnlinkBlob(t *testing.T, s *metadata.Store) {
	d := addBlob(t, s, "a", "layer")
	addBlob(t, s, "b", "layer")
	m := image("a", "img", d)
	put(t, s, m, "v1")

	tests := []struct {
		name string
		repo string
		dgst digest.Digest
		want error
	}{
		{"linked", "a", d, nil},
		{"already unlinked", "a", d, metadata.ErrNotFound},
		{"unknown repository", "nope", d, metadata.ErrNotFound},
		{"unknown digest", "b", digest.FromString("never pushed"), metadata.ErrNotFound},
	}
	for _, tc := range tests { // sequential: each case builds on the previous one
		err := s.UnlinkBlob(t.Context(), tc.repo, tc.dgst)
		wantErr(t, "UnlinkBlob "+tc.name, err, tc.want)
	}
	wantNoBlob(t, s, "a", d)
	wantBlob(t, s, "b", d, 5) // other repositories keep their link
	// The blob stays committed: it can be mounted from anywhere, and
	// manifests already stored are untouched.
	if size, err := s.LinkBlob(t.Context(), "c", "", d); err != nil || size != 5 {
		t.Errorf("LinkBlob after unlink = %d, %v; want 5, nil", size, err)
	}
	wantResolve(t, s, "a", "v1", m.Digest)
}
