// Command wharfbench runs the same workloads against wharf and the real
// distribution registry in one run and prints a Markdown table of medians,
// spreads, ratios and targets, or writes it to docs/benchmarks.md with a
// chart in docs/benchmarks.png with -write.
// See package wharf/bench/wharfbench.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"wharf/bench/wharfbench"
)

func main() {
	if probe, err := wharfbench.ServeReceiveProbe(); probe {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	var o wharfbench.Options
	var blobMiB, bigMiB, chunkedMiB, chunkMiB, smallKiB, dockerMiB int64
	write := flag.Bool("write", false, "write docs/benchmarks.md and docs/benchmarks.png (in the module root) instead of printing to stdout")
	flag.IntVar(&o.Rounds, "rounds", 3, "rounds; every workload runs once per round on each server")
	flag.Int64Var(&blobMiB, "blob-mib", 64, "size of each pushed and pulled blob, MiB")
	flag.IntVar(&o.Pushes, "pushes", 3, "blobs pushed (and pulls repeated) per round")
	flag.Int64Var(&bigMiB, "big-mib", 1024, "size of the large monolithic push, MiB")
	flag.Int64Var(&chunkedMiB, "chunked-mib", 256, "size of the chunked push, MiB")
	flag.Int64Var(&chunkMiB, "chunk-mib", 8, "size of each PATCH of the chunked push, MiB")
	flag.IntVar(&o.SmallImages, "small-images", 500, "images of the small-image workloads")
	flag.Int64Var(&smallKiB, "small-layer-kib", 16, "size of each of the three layers of a small image, KiB")
	flag.IntVar(&o.SmallClients, "small-clients", 8, "concurrent clients of the small-image workloads")
	flag.Int64Var(&dockerMiB, "docker-mib", 200, "size of the docker push/pull image, MiB, all layers")
	flag.IntVar(&o.DockerLayers, "docker-layers", 5, "layers of the docker push/pull image")
	flag.IntVar(&o.Tags, "tags", 10000, "tags in the tag-list repository")
	flag.IntVar(&o.Repos, "repos", 10000, "repositories in the catalog")
	flag.DurationVar(&o.Duration, "duration", 5*time.Second, "duration of each manifest workload")
	flag.IntVar(&o.Conns, "conns", 64, "connections of the manifest workloads")
	flag.Int64Var(&o.LimitMiB, "limit-mib", 256, "MiB hashed, written and sent by the physical-limit probes")
	flag.IntVar(&o.GCImages, "gc-images", 10000, "images of the garbage-collection set (-only gc), a fifth of them untagged")
	flag.IntVar(&o.GCClients, "gc-clients", 4, "clients pulling from wharf before and during its garbage collection")
	without := flag.String("features-without", "", "comma-separated features left off on the features pass's \"on\" server (metrics, audit, notifications), to tell their costs apart")
	flag.IntVar(&o.GCRounds, "gc-rounds", 1, "rounds of the garbage-collection comparison; each writes, imports and collects a new set (minutes at 10,000 images)")
	flag.BoolVar(&o.Smoke, "smoke", false, "tiny sizes and one round: checks the harness, measures nothing (overrides the size flags)")
	flag.StringVar(&o.Dir, "dir", "", "parent of the run's temporary data and log directory (default $TMPDIR); it decides which disk is measured")
	flag.BoolVar(&o.Keep, "keep", false, "keep the data and logs after the run")
	only := flag.String("only", "", "run only the workloads with a row matching this regular expression, e.g. 'manifest' ('token issuance' is the token benchmark, 'gc' the garbage collection, 'features' the cost of metrics, audit and notifications, 's3' the workloads with blobs on S3 (bin/versitygw), 'replicas' two replicas on one PostgreSQL against one, 'proxy' pulls through the pull-through cache)")
	flag.StringVar(&o.ProfileDir, "profile", "", "after the rounds, take CPU and allocation profiles of both servers during each workload into this directory")
	flag.IntVar(&o.ProfileSeconds, "profile-seconds", 10, "length of each profile")
	flag.StringVar(&o.WharfConfig, "wharf-config", "", "a wharf.yml for the main table's wharf (the features pass, -only features, compares metrics, audit and notifications on and off side by side)")
	flag.Int64Var(&o.ProxyUpstreamMiBps, "proxy-upstream-mibps", 0, "rate of the proxy pass's link to its upstream, MiB/s (0: 100, about a gigabit; -1: unthrottled loopback)")
	flag.Parse()
	if *without != "" {
		o.FeaturesWithout = strings.Split(*without, ",")
		if err := wharfbench.CheckFeatures(o.FeaturesWithout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wharfbench: -only:", err)
			os.Exit(2)
		}
		o.Only = re
	}
	o.BlobSize, o.BigSize, o.ChunkedSize, o.ChunkSize = blobMiB<<20, bigMiB<<20, chunkedMiB<<20, chunkMiB<<20
	o.SmallLayer, o.DockerSize = smallKiB<<10, dockerMiB<<20
	o.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := wharfbench.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wharfbench:", err)
		os.Exit(1)
	}
	if !*write {
		fmt.Print(rep.Markdown(""))
		return
	}
	root, err := wharfbench.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wharfbench:", err)
		os.Exit(1)
	}
	page, chart, err := rep.Write(filepath.Join(root, "docs"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "wharfbench:", err)
		os.Exit(1)
	}
	if chart == "" {
		fmt.Fprintln(os.Stderr, "wrote", page)
		return
	}
	fmt.Fprintln(os.Stderr, "wrote", page, "and", chart)
}
