package gc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
//
// The "beside-a-writer" cases collect while a second store on the same
// SQLite file, as a `wharf serve` beside `wharf gc` is, writes audit
// records back to back (a server's audit log of pulls): the collection's
// transactions then meet a lock held by another process, which SQLite's
// busy handler waits out in sleeps of 1, 2, 5, 10… ms.
func BenchmarkCollect(b *testing.B) {
	const images, deleted = 10000, 2000
	for _, c := range []struct {
		untag, writer bool
	}{{false, false}, {true, false}, {true, true}} {
		name := "deleted"
		if c.untag {
			name = "untagged"
		}
		if c.writer {
			name += "-beside-a-writer"
		}
		untag := c.untag
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				meta, blobs, dbPath := benchSet(b, images, deleted, untag)
				var stopWriter func() int
				if c.writer {
					stopWriter = besideWriter(b, dbPath)
				}
				var log *slog.Logger
				if testing.Verbose() {
					log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
				}
				c := New(meta, blobs, log, "bench")
				c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
				b.StartTimer()
				start, cpu, io := time.Now(), cpuTime(b), processIO(b)
				res, err := c.Run(b.Context(), Options{Grace: time.Hour, UploadsGrace: time.Hour, DeleteUntagged: untag})
				elapsed, cpu, io := time.Since(start), cpuTime(b)-cpu, processIO(b).minus(io)
				b.StopTimer()
				// Counts, not times: what the collection wrote (WAL frames
				// and checkpoints, mostly) and in how many write calls.
				b.ReportMetric(float64(io.wchar)/(1<<20), "MiB-written")
				b.ReportMetric(float64(io.syscw), "write-calls")
				if stopWriter != nil {
					b.ReportMetric(float64(stopWriter()), "writer-commits")
				}
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

// besideWriter opens a second store on the SQLite file at path and writes
// a batch of audit records to it back to back, as a server's audit log
// does under pulls, until the returned function is called; that returns
// how many batches committed.
func besideWriter(b *testing.B, path string) func() int {
	b.Helper()
	other, err := metadata.Open(b.Context(), "sqlite", path, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan int)
	go func() {
		n := 0
		recs := make([]metadata.AuditRecord, 16)
		for i := range recs {
			recs[i] = metadata.AuditRecord{Time: time.Now(), Action: "pull", Actor: "bench", Repository: "team00/app0", Target: "v1"}
		}
		for ctx.Err() == nil {
			if err := other.InsertAudit(ctx, recs); err == nil {
				n++
			}
			time.Sleep(time.Millisecond)
		}
		done <- n
	}()
	return func() int {
		cancel()
		n := <-done
		other.Close()
		return n
	}
}

// ioCounts are the process's write counters from /proc/self/io: bytes
// passed to write calls (the page cache's, not the disk's) and the calls.
type ioCounts struct{ wchar, syscw int64 }

func (a ioCounts) minus(b ioCounts) ioCounts { return ioCounts{a.wchar - b.wchar, a.syscw - b.syscw} }

func processIO(b *testing.B) ioCounts {
	b.Helper()
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skipf("no /proc/self/io: %v", err)
	}
	var c ioCounts
	for _, line := range strings.Split(string(data), "\n") {
		name, value, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(value, 10, 64)
		switch name {
		case "wchar":
			c.wchar = n
		case "syscw":
			c.syscw = n
		}
	}
	return c
}

func cpuTime(b *testing.B) time.Duration { return testserver.CPUTime(b) }

// benchSet writes images images through the store's group commits (16
// writers) and deletes deleted of them, or untags them when untag is set.
// It returns the path of the SQLite file too.
func benchSet(b *testing.B, images, deleted int, untag bool) (*metadata.Store, *filesystem.Driver, string) {
	b.Helper()
	ctx := b.Context()
	dir := b.TempDir()
	dbPath := filepath.Join(dir, "wharf.db")
	meta, err := metadata.Open(ctx, "sqlite", dbPath, slog.New(slog.DiscardHandler))
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
	return meta, blobs, dbPath
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
