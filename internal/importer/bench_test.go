package importer_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"wharf/internal/importer"
)

// BenchmarkImport imports a tree of 16 blobs of 4 MiB in 4 repositories
// into a fresh wharf per iteration, copied and hard-linked; both read
// every byte once to verify it:
// go test -run - -bench Import ./internal/importer/
func BenchmarkImport(b *testing.B) {
	const blobs, size = 16, 4 << 20
	tr := newTree(b)
	for i := range blobs {
		buf := make([]byte, size)
		if _, err := io.ReadFull(rand.Reader, buf); err != nil {
			b.Fatal(err)
		}
		tr.layer(fmt.Sprintf("r%d", i%4), tr.blob(buf))
	}
	for _, link := range []bool{false, true} {
		b.Run(map[bool]string{false: "copy", true: "link"}[link], func(b *testing.B) {
			b.SetBytes(blobs * size)
			for b.Loop() {
				b.StopTimer()
				tg := newTarget(b)
				src, err := importer.OpenSource(tr.root)
				if err != nil {
					b.Fatal(err)
				}
				plan, err := src.Read(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				sum, err := importer.Import(b.Context(), src, plan, tg.Target, importer.Options{Link: link}, importer.NewProgress(io.Discard, false, 0))
				if err != nil || sum.BlobsCopied+sum.BlobsLinked != blobs {
					b.Fatalf("Import: %v, %+v", err, sum)
				}
				src.Close()
			}
		})
	}
}
