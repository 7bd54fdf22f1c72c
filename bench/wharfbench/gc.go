package wharfbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// The garbage-collection pass collects one set of images with both
// registries: wharf online, `wharf gc` beside a `wharf serve` that clients
// pull from the whole time, and distribution offline, `registry
// garbage-collect` on its storage with no server (what distribution
// requires). The set is written as distribution's storage tree, which
// distribution collects in place and wharf imports first (not timed), so
// both collect the same images.

const (
	gcBases    = 10   // base layers the whole set shares
	gcBaseSize = 4096 // bytes of each base layer
	gcOwnSize  = 1024 // bytes of each image's own layer
	gcRepos    = 100  // repositories the images are spread over
	// gcGrace is wharf's grace period in the pass: the imported set must
	// be older than it when the collection starts.
	gcGrace = time.Second
)

// gcImage is one image of the set, in a repository, under a tag or none.
type gcImage struct {
	image
	repo, tag string
}

// gcSet is n images, each with a config and a layer of its own on top of
// one of gcBases shared base layers, in gcRepos repositories; one image in
// five has no tag, and is what the collections delete (its manifest, config
// and own layer).
func gcSet(n int, seed uint64) (imgs []gcImage, untagged int) {
	var bases [][]byte
	for i := range gcBases {
		bases = append(bases, randomBytes(gcBaseSize, seed<<20+uint64(i)))
	}
	for i := range n {
		config := fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"n":"%d"}}}`, i)
		own := randomBytes(gcOwnSize, seed<<20+1<<16+uint64(i))
		im := gcImage{image: newImageConfig(config, bases[(i/5)%gcBases], own), repo: fmt.Sprintf("team%02d/app", i%gcRepos)}
		if i%5 == 0 {
			untagged++
		} else {
			im.tag = fmt.Sprintf("v%d", i)
		}
		imgs = append(imgs, im)
	}
	return imgs, untagged
}

// writeRegistryTree lays the set out as distribution's filesystem driver
// does under root: blobs by digest, and per repository the links of its
// layers, manifest revisions and tags.
func writeRegistryTree(root string, imgs []gcImage) error {
	v2 := filepath.Join(root, "docker/registry/v2")
	madeDirs := map[string]bool{}
	write := func(p string, data []byte) error {
		if d := filepath.Dir(p); !madeDirs[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("wharfbench: %w", err)
			}
			madeDirs[d] = true
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("wharfbench: %w", err)
		}
		return nil
	}
	written := map[string]bool{}
	blob := func(d string, data []byte) error {
		if written[d] {
			return nil
		}
		written[d] = true
		hex := strings.TrimPrefix(d, "sha256:")
		return write(filepath.Join(v2, "blobs/sha256", hex[:2], hex, "data"), data)
	}
	link := func(p, d string) error { return write(p, []byte(d)) }
	for _, im := range imgs {
		repo := filepath.Join(v2, "repositories", im.repo)
		data, digests := im.blobs()
		for i, d := range digests {
			if err := blob(d, data[i]); err != nil {
				return err
			}
			if err := link(filepath.Join(repo, "_layers/sha256", strings.TrimPrefix(d, "sha256:"), "link"), d); err != nil {
				return err
			}
		}
		m := im.manifestDigest
		if err := blob(m, im.manifest); err != nil {
			return err
		}
		hex := strings.TrimPrefix(m, "sha256:")
		if err := link(filepath.Join(repo, "_manifests/revisions/sha256", hex, "link"), m); err != nil {
			return err
		}
		if im.tag == "" {
			continue
		}
		tag := filepath.Join(repo, "_manifests/tags", im.tag)
		if err := link(filepath.Join(tag, "current/link"), m); err != nil {
			return err
		}
		if err := link(filepath.Join(tag, "index/sha256", hex, "link"), m); err != nil {
			return err
		}
	}
	return nil
}

// countBlobFiles counts the blob data files of a registry:2 tree.
func countBlobFiles(root string) (int, error) {
	n := 0
	err := filepath.WalkDir(filepath.Join(root, "docker/registry/v2/blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "data" {
			n++
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("wharfbench: %w", err)
	}
	return n, nil
}

// gcRound is what one round of the pass measured.
type gcRound struct {
	wharf, distribution time.Duration // the two collections
	wharfCPU            time.Duration // user and system time of the wharf gc process
	wharfRun            time.Duration // the collection's own time, as wharf gc reports it
	idle, during        pullStats     // pulls from wharf before and during its collection
}

// pullStats are the latencies of whole image pulls (manifest by tag, config
// and both layers) and their rate.
type pullStats struct {
	lat     []time.Duration // sorted
	perSec  float64
	samples int
}

func (s pullStats) quantile(q float64) float64 {
	return float64(s.lat[int(q*float64(len(s.lat)-1))]) / float64(time.Millisecond)
}

// pullTiming is one image pull: when it started and ended.
type pullTiming struct{ start, end time.Time }

// pullUntil has clients pull the tagged images of imgs, each client in an
// order of its own, one pull after the other, until stop is closed; every
// pull must succeed. It returns every pull's timing.
func pullUntil(ctx context.Context, c *http.Client, base string, imgs []gcImage, clients int, seed uint64, stop <-chan struct{}) ([]pullTiming, error) {
	var tagged []gcImage
	for _, im := range imgs {
		if im.tag != "" {
			tagged = append(tagged, im)
		}
	}
	timings := make([][]pullTiming, clients)
	err := parallel(ctx, clients, clients, func(ctx context.Context, i int) error {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		for {
			select {
			case <-stop:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			default:
			}
			im := tagged[r.IntN(len(tagged))]
			s := time.Now()
			if err := pullImage(ctx, c, base, im.repo, im.image, im.tag); err != nil {
				return fmt.Errorf("pull of %s:%s: %w", im.repo, im.tag, err)
			}
			timings[i] = append(timings[i], pullTiming{s, time.Now()})
		}
	})
	return slices.Concat(timings...), err
}

// statsOf keeps the pulls that overlap [from, to] (all with zero times) and
// reports their latencies and how many ended in the window per second.
func statsOf(ts []pullTiming, from, to time.Time) (pullStats, error) {
	var s pullStats
	ended := 0
	for _, t := range ts {
		if !from.IsZero() && (t.end.Before(from) || t.start.After(to)) {
			continue
		}
		s.lat = append(s.lat, t.end.Sub(t.start))
		if from.IsZero() || (!t.end.Before(from) && !t.end.After(to)) {
			ended++
		}
	}
	if len(s.lat) == 0 {
		return s, fmt.Errorf("wharfbench: no pull completed")
	}
	slices.Sort(s.lat)
	s.samples = len(s.lat)
	if from.IsZero() && len(ts) > 0 {
		from, to = ts[0].start, ts[0].end
		for _, t := range ts {
			from, to = minTime(from, t.start), maxTime(to, t.end)
		}
	}
	s.perSec = float64(ended) / to.Sub(from).Seconds()
	return s, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// gcSummary is the part of `wharf gc --json` the pass checks.
type gcSummary struct {
	ManifestsDeleted int    `json:"manifests_deleted"`
	BlobsDeleted     int    `json:"blobs_deleted"`
	DurationNS       int64  `json:"duration_ns"`
	Error            string `json:"error"`
}

// runGCRound writes a fresh set, imports it into a new wharf, and collects
// it with both registries, distribution first in odd rounds.
func runGCRound(ctx context.Context, o Options, wharfBin, distBin, dir string, round int) (gcRound, error) {
	var res gcRound
	tree := filepath.Join(dir, "gc-tree")
	const name = "wharf-gc"
	data := filepath.Join(dir, name+"-data")
	defer os.RemoveAll(tree)
	defer os.RemoveAll(data)
	imgs, untagged := gcSet(o.GCImages, uint64(9000+round))
	fmt.Fprintf(o.Progress, "  writing %d images (%d untagged) as a registry:2 tree\n", len(imgs), untagged)
	if err := writeRegistryTree(tree, imgs); err != nil {
		return res, err
	}
	env := withoutPrefix(os.Environ(), "REGISTRY_", "WHARF_")
	fmt.Fprintf(o.Progress, "  wharf import (not timed)\n")
	// Hard links, not copies: the import is set-up, not measured.
	imp := exec.CommandContext(ctx, wharfBin, "import", tree, "--data", data, "--link")
	imp.Env = env
	began := time.Now()
	if out, err := imp.CombinedOutput(); err != nil {
		return res, fmt.Errorf("wharfbench: wharf import: %w\n%s", err, tailOf(string(out), 2000))
	}
	imported := time.Now()
	fmt.Fprintf(o.Progress, "  imported in %s\n", imported.Sub(began).Round(time.Millisecond))
	cfg := filepath.Join(dir, name+".yml")
	// No scheduled collection: the pass starts the only one.
	body := fmt.Sprintf("gc:\n  interval: 0\n  grace: %s\n", gcGrace)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return res, fmt.Errorf("wharfbench: %w", err)
	}

	collectWharf := func() error {
		s, err := startWharf(ctx, wharfBin, dir, name, false, cfg)
		if err != nil {
			return err
		}
		defer s.stop()
		c := newClient()
		defer c.CloseIdleConnections()
		settleDisk()
		fmt.Fprintf(o.Progress, "  wharf: %d clients pull for %s (idle)\n", o.GCClients, o.Duration)
		stop := make(chan struct{})
		time.AfterFunc(o.Duration, func() { close(stop) })
		ts, err := pullUntil(ctx, c, s.url, imgs, o.GCClients, uint64(round), stop)
		if err != nil {
			return serverFailed(err, s)
		}
		if res.idle, err = statsOf(ts, time.Time{}, time.Time{}); err != nil {
			return err
		}
		// What the collection deletes must be past the grace period.
		time.Sleep(time.Until(imported.Add(gcGrace + 100*time.Millisecond)))
		settleDisk()
		fmt.Fprintf(o.Progress, "  wharf: gc --delete-untagged while %d clients pull\n", o.GCClients)
		stop = make(chan struct{})
		var wg sync.WaitGroup
		var pullErr error
		wg.Go(func() { ts, pullErr = pullUntil(ctx, c, s.url, imgs, o.GCClients, uint64(round)+1<<32, stop) })
		start := time.Now()
		gc := exec.CommandContext(ctx, wharfBin, "gc", "--delete-untagged", "--json", "--data", data, "--config", cfg)
		gc.Env = env
		var stderr strings.Builder
		gc.Stderr = &stderr
		out, gcErr := gc.Output()
		end := time.Now()
		close(stop)
		wg.Wait()
		res.wharf = end.Sub(start)
		if gc.ProcessState != nil {
			res.wharfCPU = gc.ProcessState.UserTime() + gc.ProcessState.SystemTime()
		}
		if gcErr != nil {
			return fmt.Errorf("wharfbench: wharf gc: %w\n%s", gcErr, tailOf(stderr.String(), 2000))
		}
		var sum gcSummary
		if err := json.Unmarshal(out, &sum); err != nil || sum.Error != "" || sum.ManifestsDeleted != untagged || sum.BlobsDeleted != 2*untagged {
			return fmt.Errorf("wharfbench: wharf gc printed %s (%v); want %d manifests and %d blobs deleted", out, err, untagged, 2*untagged)
		}
		res.wharfRun = time.Duration(sum.DurationNS)
		if pullErr != nil {
			return serverFailed(fmt.Errorf("during wharf gc: %w", pullErr), s)
		}
		res.during, err = statsOf(ts, start, end)
		return err
	}
	collectDistribution := func() error {
		dcfg := filepath.Join(dir, "registry-gc.yml")
		body := "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: " + tree + "\n  delete:\n    enabled: true\n"
		if err := os.WriteFile(dcfg, []byte(body), 0o600); err != nil {
			return fmt.Errorf("wharfbench: %w", err)
		}
		before, err := countBlobFiles(tree)
		if err != nil {
			return err
		}
		settleDisk()
		fmt.Fprintf(o.Progress, "  distribution: registry garbage-collect --delete-untagged (offline)\n")
		cmd := exec.CommandContext(ctx, distBin, "garbage-collect", "--delete-untagged", dcfg)
		cmd.Env = env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		res.distribution = time.Since(start)
		if err != nil {
			return fmt.Errorf("wharfbench: registry garbage-collect: %w\n%s", err, tailOf(string(out), 2000))
		}
		after, err := countBlobFiles(tree)
		if err != nil {
			return err
		}
		// distribution stores manifests as blobs too.
		if freed := before - after; freed != 3*untagged {
			return fmt.Errorf("wharfbench: registry garbage-collect deleted %d blob files, want %d", freed, 3*untagged)
		}
		return nil
	}
	order := []func() error{collectWharf, collectDistribution}
	if round%2 == 1 {
		slices.Reverse(order)
	}
	for _, f := range order {
		if err := f(); err != nil {
			return res, err
		}
	}
	fmt.Fprintf(o.Progress, "    wharf %s, distribution %s; pulls p99 %s ms idle, %s ms during wharf's collection\n",
		res.wharf.Round(time.Millisecond), res.distribution.Round(time.Millisecond), num(res.idle.quantile(0.99)), num(res.during.quantile(0.99)))
	return res, nil
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// runGC runs the pass o.GCRounds times and returns its two tables.
func runGC(ctx context.Context, o Options, wharfBin, distBin, dir string) ([]Comparison, error) {
	untagged := (o.GCImages + 4) / 5
	timeRow := Result{Name: fmt.Sprintf("collect %d images (%d untagged: %d blobs and manifests to delete of %d), --delete-untagged",
		o.GCImages, untagged, 3*untagged, 3*o.GCImages+min(gcBases, untagged)), Unit: "s", LowerBetter: true, Goal: Goal{Ratio: 0.1}}
	pull := fmt.Sprintf("image pull (manifest, config, 2 layers), %d clients", o.GCClients)
	p50 := Result{Name: pull + ", p50", Unit: "ms", LowerBetter: true}
	p99 := Result{Name: pull + ", p99", Unit: "ms", LowerBetter: true, Goal: Goal{Ratio: 2}}
	rate := Result{Name: pull + ", rate", Unit: "images/s"}
	var samples []int
	var cpu []string
	for round := range o.GCRounds {
		fmt.Fprintf(o.Progress, "garbage collection, round %d/%d\n", round+1, o.GCRounds)
		r, err := runGCRound(ctx, o, wharfBin, distBin, dir, round)
		if err != nil {
			return nil, err
		}
		timeRow.Wharf = append(timeRow.Wharf, r.wharf.Seconds())
		timeRow.Distr = append(timeRow.Distr, r.distribution.Seconds())
		p50.Wharf, p50.Distr = append(p50.Wharf, r.during.quantile(0.5)), append(p50.Distr, r.idle.quantile(0.5))
		p99.Wharf, p99.Distr = append(p99.Wharf, r.during.quantile(0.99)), append(p99.Distr, r.idle.quantile(0.99))
		rate.Wharf, rate.Distr = append(rate.Wharf, r.during.perSec), append(rate.Distr, r.idle.perSec)
		samples = append(samples, r.during.samples)
		cpu = append(cpu, fmt.Sprintf("%.2f s of CPU in %.2f s, of which the collection %.2f s", r.wharfCPU.Seconds(), r.wharf.Seconds(), r.wharfRun.Seconds()))
	}
	return []Comparison{
		{Section: gcSection, Title: "Time to collect: wharf online, distribution offline", A: "wharf", B: "distribution",
			Results: []Result{timeRow},
			Notes: []string{
				fmt.Sprintf("The set: %d images in %d repositories, each a config and a %s layer of its own over one of %d shared %s base layers; one in five has no tag. Written as distribution's storage tree; wharf imports it first (not timed).", o.GCImages, min(o.GCImages, gcRepos), sizeName(gcOwnSize), min(gcBases, untagged), sizeName(gcBaseSize)),
				fmt.Sprintf("wharf: `wharf gc --delete-untagged` (a process of its own, start-up included) beside the `wharf serve` that clients pull from; grace period %s. distribution: `registry garbage-collect --delete-untagged` on its storage with no server running, as it requires.", gcGrace),
				"Both counts are checked: wharf deletes the untagged manifests and their two blobs, distribution their three blob files (its manifests are blobs).",
				fmt.Sprintf("The `wharf gc` process per round: its CPU time (user and system), its wall time, and the collection's own time as it reports it (the rest opens the database and the blob store): %s. It shares the machine's %d cores with the server and the pulling clients.", strings.Join(cpu, "; "), runtime.NumCPU()),
			}},
		{Section: gcSection, Title: "Pulls from wharf during its collection", A: "during gc", B: "idle",
			Results: []Result{p50, p99, rate},
			Notes: []string{
				fmt.Sprintf("%d clients each pull tagged images of the set one after the other (manifest by tag, config, both layers; every length checked): for %s before the collection (idle), then from just before `wharf gc` starts until it ends (during gc: the pulls that overlap it; %s of them per round). Every pull must succeed.", o.GCClients, o.Duration, intsString(samples)),
				"With few pulls during a short collection, p99 is close to the slowest pull of the round.",
			}},
	}, nil
}

func intsString(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}
