package metadata

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestSizesInChunks: with statements listing 2 repositories or blobs at
// most, the sizes, the usage and what a push adds are the same as in one
// statement: the chunks are deduplicated across, not summed.
func TestSizesInChunks(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	var (
		repos []string
		last  *Manifest
	)
	for i := range 7 {
		repo := fmt.Sprintf("team/r%d", i)
		repos = append(repos, repo)
		var refs []Ref
		for _, key := range []string{"base", "mid" + fmt.Sprint(i%3), "own" + fmt.Sprint(i)} {
			d := digest.FromString(key)
			if err := s.AddBlob(ctx, repo, d, int64(100*len(key))); err != nil {
				t.Fatal(err)
			}
			refs = append(refs, Ref{Digest: d, Kind: RefBlob})
		}
		payload := []byte(fmt.Sprintf(`{"shared":%d}`, i%2)) // two manifests shared across repositories
		last = &Manifest{Repo: repo, Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: int64(len(payload)), Payload: payload, Refs: refs}
		if err := s.PutManifest(ctx, last, []string{"v1"}); err != nil {
			t.Fatal(err)
		}
	}
	extra := []string{"never-pushed"}
	next := &Manifest{Repo: "team/new", Digest: digest.FromString("next"), Size: 50, Refs: append(last.Refs, Ref{Digest: digest.FromString("fresh"), Kind: RefBlob})}
	if err := s.AddBlob(ctx, "team/new", digest.FromString("fresh"), 7); err != nil {
		t.Fatal(err)
	}
	measure := func() (stats []RepositoryStats, usage, added, addedLast int64) {
		t.Helper()
		var err error
		if stats, err = s.RepositoryStats(ctx, "team/", "", 0); err != nil {
			t.Fatal(err)
		}
		if usage, err = s.Usage(ctx, append(repos, extra...)); err != nil {
			t.Fatal(err)
		}
		if added, err = s.AddedBytes(ctx, repos, next); err != nil {
			t.Fatal(err)
		}
		if addedLast, err = s.AddedBytes(ctx, repos, last); err != nil {
			t.Fatal(err)
		}
		return stats, usage, added, addedLast
	}
	stats, usage, added, addedLast := measure()
	// base 400, mid0..2 400 each, own0..6 400 each, two manifests of 12 bytes.
	if want := int64(400 + 3*400 + 7*400 + 2*12); usage != want {
		t.Errorf("usage %d, want %d", usage, want)
	}
	if added != 50+7 || addedLast != 0 {
		t.Errorf("added %d and %d, want 57 and 0", added, addedLast)
	}
	s.chunk = 2
	stats2, usage2, added2, addedLast2 := measure()
	if fmt.Sprint(stats2) != fmt.Sprint(stats) || usage2 != usage || added2 != added || addedLast2 != addedLast {
		t.Errorf("in chunks of 2: %v %d %d %d; in one: %v %d %d %d", stats2, usage2, added2, addedLast2, stats, usage, added, addedLast)
	}
}
