package gc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/storage/filesystem"
	"wharf/internal/storage/storagetest"
	"wharf/internal/testserver"
)

// BenchmarkCollect collects a set of 10,000 images (10 shared base layers,
// a config and a layer of their own each, in 100 repositories) of which
// 20 % were deleted: 4,000 blobs to find and delete among 20,010, on SQLite
// and the filesystem driver.
//
//	go test -run '^$' -bench Collect -benchtime 1x ./internal/gc/
//
// The "untagged" case untags those images instead, and collects with
// DeleteUntagged, as `wharf gc --delete-untagged` in make bench does.
func BenchmarkCollect(b *testing.B) {
	const images, deleted = 10000, 2000
	for _, untag := range []bool{false, true} {
		name := "deleted"
		if untag {
			name = "untagged"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				meta, blobs := benchSet(b, images, deleted, untag)
				var log *slog.Logger
				if testing.Verbose() {
					log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
				}
				c := New(meta, blobs, log, "bench")
				c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
				b.StartTimer()
				start, cpu := time.Now(), cpuTime(b)
				res, err := c.Run(b.Context(), Options{Grace: time.Hour, UploadsGrace: time.Hour, DeleteUntagged: untag})
				elapsed, cpu := time.Since(start), cpuTime(b)-cpu
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.BlobsDeleted != 2*deleted {
					b.Fatalf("deleted %d blobs, want %d", res.BlobsDeleted, 2*deleted)
				}
				if untag && res.ManifestsDeleted != deleted {
					b.Fatalf("deleted %d manifests, want %d", res.ManifestsDeleted, deleted)
				}
				b.ReportMetric(float64(res.BlobsDeleted)/elapsed.Seconds(), "blobs/s")
				b.ReportMetric(elapsed.Seconds(), "s/collection")
				// CPU time moves less than wall time on a shared machine:
				// the rest of the wall time is waiting (disk, locks, cores).
				b.ReportMetric(cpu.Seconds(), "cpu-s/collection")
				meta.Close()
			}
		})
	}
}

func cpuTime(b *testing.B) time.Duration { return testserver.CPUTime(b) }

// benchSet writes images images through the store's group commits (16
// writers) and deletes deleted of them, or untags them when untag is set.
func benchSet(b *testing.B, images, deleted int, untag bool) (*metadata.Store, *filesystem.Driver) {
	b.Helper()
	ctx := b.Context()
	dir := b.TempDir()
	meta, err := metadata.Open(ctx, "sqlite", filepath.Join(dir, "wharf.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	var bases []digest.Digest
	for i := range 10 {
		d, err := benchBlob(ctx, meta, blobs, "base/r", fmt.Sprintf("base layer %d", i))
		if err != nil {
			b.Fatal(err)
		}
		bases = append(bases, d)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		pushed = make([]*metadata.Manifest, images)
	)
	const writers = 16
	for w := range writers {
		wg.Go(func() {
			for i := w; i < images; i += writers {
				repo := fmt.Sprintf("team%02d/app%d", i%100, i%7)
				cfg, err := benchBlob(ctx, meta, blobs, repo, fmt.Sprintf("config %d", i))
				if err != nil {
					b.Error(err)
					return
				}
				own, err := benchBlob(ctx, meta, blobs, repo, fmt.Sprintf("own layer %d", i))
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := meta.LinkBlob(ctx, repo, "", bases[(i/5)%len(bases)]); err != nil {
					b.Error(err)
					return
				}
				payload, _ := json.Marshal(map[string]any{"config": cfg, "layers": []digest.Digest{bases[(i/5)%len(bases)], own}})
				m := &metadata.Manifest{Repo: repo, Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json",
					Size: int64(len(payload)), Payload: payload, Refs: []metadata.Ref{
						{Kind: metadata.RefBlob, Digest: cfg}, {Kind: metadata.RefBlob, Digest: own},
						{Kind: metadata.RefBlob, Digest: bases[(i/5)%len(bases)]}}}
				if err := meta.PutManifest(ctx, m, []string{fmt.Sprintf("v%d", i)}); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				pushed[i] = m
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	for i := 0; i < images; i += images / deleted {
		var err error
		if untag {
			err = meta.DeleteTag(ctx, pushed[i].Repo, fmt.Sprintf("v%d", i))
		} else {
			err = meta.DeleteManifest(ctx, pushed[i].Repo, pushed[i].Digest)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	return meta, blobs
}

// benchBlob stores content as a committed upload to repo.
func benchBlob(ctx context.Context, meta *metadata.Store, blobs *filesystem.Driver, repo, content string) (digest.Digest, error) {
	id := storagetest.NewID()
	w, err := blobs.Upload(ctx, id, -1)
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte(content)); err != nil {
		return "", err
	}
	d := digest.FromString(content)
	if err := w.Commit(ctx, d); err != nil {
		return "", err
	}
	return d, meta.CommitUpload(ctx, id, repo, d, int64(len(content)))
}
