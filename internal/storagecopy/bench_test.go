package storagecopy

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage/filesystem"
)

// BenchmarkCopy copies 64 blobs of 1 MiB from a filesystem storage to
// another and to an S3 bucket (a fresh destination each time), hashing
// every byte on the way, with 1 and 4 jobs:
// go test -run x -bench Copy ./internal/storagecopy/
func BenchmarkCopy(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "blobs")
	d, err := filesystem.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	const n, size = 64, 1 << 20
	for i := range n {
		buf := make([]byte, size)
		_, _ = rand.Read(buf)
		w, err := d.Upload(ctx, fmt.Sprintf("bench-upload-%08d", i), -1)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := w.Commit(ctx, digest.FromBytes(buf)); err != nil {
			b.Fatal(err)
		}
	}
	src, err := Open(ctx, "filesystem:"+dir, Source)
	if err != nil {
		b.Fatal(err)
	}
	// A fresh destination for each copy: a directory, or a prefix of a
	// bucket of a real S3 server (versitygw, on this machine's disk).
	g := startS3(b, "bench")
	fresh := map[string]func(b *testing.B) string{
		"filesystem": func(b *testing.B) string { return "filesystem:" + filepath.Join(b.TempDir(), "dst") },
		"s3":         func(*testing.B) string { return "s3:bench/" + rand.Text() + "?endpoint=" + g.Endpoint },
	}
	for _, to := range []string{"filesystem", "s3"} {
		for _, jobs := range []int{1, 4} {
			b.Run(fmt.Sprintf("to=%s/jobs=%d", to, jobs), func(b *testing.B) {
				b.SetBytes(n * size)
				for b.Loop() {
					b.StopTimer()
					dst, err := Open(ctx, fresh[to](b), Destination)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					rep, err := Copy(ctx, src, dst, Options{Jobs: jobs})
					if err != nil || rep.Copied != n {
						b.Fatalf("%+v, %v", rep, err)
					}
				}
			})
		}
	}
}
