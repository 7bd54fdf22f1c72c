package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/e2e/harness"
)

// BenchmarkGCVersusDistribution collects the same set of images, 20 % of
// them untagged, with `wharf gc --delete-untagged` (online: nothing stops)
// and with distribution's `registry garbage-collect --delete-untagged`
// (offline), and prints both times. The set is written as a registry:2
// tree, which distribution collects in place and wharf imports first (not
// timed). WHARF_GC_BENCH_IMAGES sets its size (default 10,000).
//
//	go test -run '^$' -bench GCVersusDistribution -benchtime 1x ./e2e/
func BenchmarkGCVersusDistribution(b *testing.B) {
	images := 10000
	if s := os.Getenv("WHARF_GC_BENCH_IMAGES"); s != "" {
		if _, err := fmt.Sscan(s, &images); err != nil || images < 10 {
			b.Fatalf("WHARF_GC_BENCH_IMAGES=%q: want a number of images, at least 10", s)
		}
	}
	untagged := images / 5
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	registryBin, wharfBin := harness.DistributionBinary(b), harness.WharfBinary(b)
	env := wharfCLI{}.env()
	for range b.N {
		b.StopTimer()
		tree := b.TempDir()
		writeRegistryTree(b, tree, images, untagged)
		data := b.TempDir()
		if out, err := runWharfEnv(ctx, env, wharfBin, "import", tree, "--data", data); err != nil {
			b.Fatalf("wharf import: %v\n%s", err, out)
		}
		cfg := filepath.Join(b.TempDir(), "wharf.yml")
		if err := os.WriteFile(cfg, []byte("gc:\n  interval: 0\n  grace: 1s\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // the import is past the grace period

		start := time.Now()
		gc := exec.CommandContext(ctx, wharfBin, "gc", "--delete-untagged", "--json", "--data", data, "--config", cfg)
		gc.Env = env
		var stderr strings.Builder
		gc.Stderr = &stderr
		out, err := gc.Output()
		wharfTime := time.Since(start)
		if err != nil {
			b.Fatalf("wharf gc: %v\n%s", err, stderr.String())
		}
		var res struct {
			ManifestsDeleted int `json:"manifests_deleted"`
			BlobsDeleted     int `json:"blobs_deleted"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.ManifestsDeleted != untagged || res.BlobsDeleted != 2*untagged {
			b.Fatalf("wharf gc printed %s (%v); want %d manifests and %d blobs deleted", out, err, untagged, 2*untagged)
		}

		dcfg := filepath.Join(b.TempDir(), "config.yml")
		if err := os.WriteFile(dcfg, []byte("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "+tree+"\n  delete:\n    enabled: true\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		before := countBlobFiles(b, tree)
		start = time.Now()
		cmd := exec.CommandContext(ctx, registryBin, "garbage-collect", "--delete-untagged", dcfg)
		cmd.Env = harness.WithoutRegistryEnv()
		dout, err := cmd.CombinedOutput()
		distTime := time.Since(start)
		if err != nil {
			b.Fatalf("registry garbage-collect: %v\n%s", err, tailOf(string(dout), 2000))
		}
		// distribution stores manifests as blobs too.
		if freed := before - countBlobFiles(b, tree); freed != 3*untagged {
			b.Fatalf("registry garbage-collect deleted %d blob files, want %d", freed, 3*untagged)
		}
		b.ReportMetric(wharfTime.Seconds(), "wharf-s")
		b.ReportMetric(distTime.Seconds(), "distribution-s")
		b.ReportMetric(distTime.Seconds()/wharfTime.Seconds(), "x-faster")
		b.Logf("%d images, %d untagged: wharf gc (online) %s, registry garbage-collect (offline) %s: %.1f× faster",
			images, untagged, wharfTime.Round(time.Millisecond), distTime.Round(time.Millisecond), distTime.Seconds()/wharfTime.Seconds())
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// countBlobFiles counts the blob data files of a registry:2 tree.
func countBlobFiles(b *testing.B, tree string) int {
	b.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(tree, "docker/registry/v2/blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "data" {
			n++
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// writeRegistryTree lays out images as distribution's filesystem driver
// does: 10 shared base layers, and per image a config and a layer of its
// own, in 100 repositories; the first untagged images of every five have
// no tag.
func writeRegistryTree(b *testing.B, root string, images, untagged int) {
	b.Helper()
	v2 := filepath.Join(root, "docker/registry/v2")
	write := func(p string, data []byte) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	blob := func(data []byte) digest.Digest {
		d := digest.FromBytes(data)
		write(filepath.Join(v2, "blobs/sha256", d.Encoded()[:2], d.Encoded(), "data"), data)
		return d
	}
	link := func(p string, d digest.Digest) { write(p, []byte(d.String())) }
	random := func(n int) []byte {
		p := make([]byte, n)
		_, _ = rand.Read(p)
		return p
	}
	type desc struct {
		MediaType string        `json:"mediaType"`
		Size      int           `json:"size"`
		Digest    digest.Digest `json:"digest"`
	}
	const layerType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	var bases []desc
	for range 10 {
		data := random(4096)
		bases = append(bases, desc{layerType, len(data), blob(data)})
	}
	for i := range images {
		repo := filepath.Join(v2, "repositories", fmt.Sprintf("team%02d/app", i%100))
		own := random(1024)
		ownD := desc{layerType, len(own), blob(own)}
		config := fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"n":"%d"}}}`, i)
		configD := desc{"application/vnd.docker.container.image.v1+json", len(config), blob(config)}
		base := bases[(i/5)%len(bases)]
		m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
			"config": configD, "layers": []desc{base, ownD}})
		md := blob(m)
		for _, d := range []digest.Digest{configD.Digest, base.Digest, ownD.Digest} {
			link(filepath.Join(repo, "_layers/sha256", d.Encoded(), "link"), d)
		}
		link(filepath.Join(repo, "_manifests/revisions/sha256", md.Encoded(), "link"), md)
		if i%5 == 0 && i/5 < untagged {
			continue // untagged
		}
		tag := filepath.Join(repo, "_manifests/tags", fmt.Sprintf("v%d", i))
		link(filepath.Join(tag, "current/link"), md)
		link(filepath.Join(tag, "index/sha256", md.Encoded(), "link"), md)
	}
}
