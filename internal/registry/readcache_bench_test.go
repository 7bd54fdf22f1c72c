package registry_test

import (
	"testing"

	"github.com/opencontainers/go-digest"
)

// BenchmarkPullReads measures the registry's reads of a pull by tag, the
// manifest and one blob link, while nothing is committed (served from the
// caches on SQLite), against the link read of the store itself.
func BenchmarkPullReads(b *testing.B) {
	p := newReplicaPairTB(b)
	a := p.regs[0]
	body := []byte("layer bytes")
	dgst := digest.FromBytes(body)
	if _, err := a.FetchBlob(b.Context(), "team/app", dgst, int64(len(body)), bytesReader(body)); err != nil {
		b.Fatal(err)
	}
	if _, err := a.PutManifest(b.Context(), "team/app", "v1", "application/vnd.oci.image.index.v1+json", index(1), nil); err != nil {
		b.Fatal(err)
	}
	b.Run("ServeManifest", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.ServeManifest(b.Context(), "team/app", "v1", true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("StatBlob", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.StatBlob(b.Context(), "team/app", dgst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store RepoBlob", func(b *testing.B) {
		for b.Loop() {
			if _, err := p.metas[0].RepoBlob(b.Context(), "team/app", dgst); err != nil {
				b.Fatal(err)
			}
		}
	})
}
