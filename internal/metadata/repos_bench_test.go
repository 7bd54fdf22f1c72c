package metadata

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

// BenchmarkRepositorySizes measures the size queries on 10,000 manifests in
// 100 repositories of one namespace (100 images each, every image a shared
// base layer plus two layers of its own, one tag each): a listing page of
// 100 repositories with their sizes, the namespace's usage (what a quota's
// usage costs uncached), and what one push would add to it.
func BenchmarkRepositorySizes(b *testing.B) {
	s, err := Open(b.Context(), "sqlite", filepath.Join(b.TempDir(), "wharf.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	const repos, images = 100, 100
	base := digest.FromString("base")
	names := make([]string, repos)
	var last *Manifest
	for r := range repos {
		names[r] = fmt.Sprintf("team/r%03d", r)
		if err := s.AddBlob(ctx, names[r], base, 30<<20); err != nil {
			b.Fatal(err)
		}
		for i := range images {
			refs := []Ref{{Digest: base, Kind: RefBlob}}
			for l := range 2 {
				d := digest.FromString(fmt.Sprintf("%d/%d/%d", r, i, l))
				if err := s.AddBlob(ctx, names[r], d, int64(1<<20+i)); err != nil {
					b.Fatal(err)
				}
				refs = append(refs, Ref{Digest: d, Kind: RefBlob})
			}
			payload := fmt.Appendf(nil, `{"schemaVersion":2,"r":%d,"i":%d}`, r, i)
			last = &Manifest{Repo: names[r], Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json",
				Size: int64(len(payload)), Payload: payload, Refs: refs}
			if err := s.PutManifest(ctx, last, []string{fmt.Sprintf("v%d", i)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("list-page-100", func(b *testing.B) {
		for b.Loop() {
			got, err := s.RepositoryStats(ctx, "team/", "", 100)
			if err != nil || len(got) != 100 || got[0].Manifests != images {
				b.Fatalf("RepositoryStats: %d, %v", len(got), err)
			}
		}
	})
	b.Run("namespace-usage", func(b *testing.B) {
		for b.Loop() {
			if u, err := s.Usage(ctx, names); err != nil || u < 30<<20 {
				b.Fatalf("Usage: %d, %v", u, err)
			}
		}
	})
	b.Run("added-bytes", func(b *testing.B) {
		for b.Loop() {
			if n, err := s.AddedBytes(ctx, names, last); err != nil || n != 0 {
				b.Fatalf("AddedBytes: %d, %v", n, err)
			}
		}
	})
}
