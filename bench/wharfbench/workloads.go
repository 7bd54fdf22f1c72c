package wharfbench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
)

// row is one line of the results table.
type row struct {
	name        string
	unit        string
	lowerBetter bool
	goal        Goal
	ceiling     Ceiling
}

// workload measures one server once (one round) and returns one value per
// row.
type workload struct {
	rows []row
	run  func(ctx context.Context, t *target, round int) ([]float64, error)
	// rss adds a row: the server's peak resident set size during the
	// workload (reset before it starts).
	rss bool
	// auth runs the workload against the token-auth servers.
	auth bool
	// docker runs the workload with the Docker daemon.
	docker bool
	// uses says what of the set-up the workload reads.
	uses needs
	// cost puts the workload in the features pass too: run on a wharf
	// with metrics, audit and notifications on and one with them off.
	cost bool
	// profile, when set, is what runs while the server is profiled
	// instead of run: the part of the workload the profile is for, the
	// row profileRow, which names the profile's files.
	profile    func(ctx context.Context, t *target, round int) ([]float64, error)
	profileRow int
	// turns, when above 1, runs the workload that many times per round on
	// each server, the servers taking turns, and combines a server's turns
	// with the harmonic mean (harmonicMeans): for rows that are rates over
	// equal work. run gets a distinct round number for each turn.
	turns int
}

// memory reports whether a row of wl is bound by the in-memory server, so
// that the server runs wl too.
func (wl workload) memory() bool {
	return slices.ContainsFunc(wl.rows, func(r row) bool { return r.ceiling == CeilingMemory })
}

// needs is what the selected workloads need set up.
type needs struct {
	pullBlob, image, tags, repos, auth, docker bool
}

func needsOf(wls []workload) needs {
	var n needs
	for _, wl := range wls {
		n.pullBlob = n.pullBlob || wl.uses.pullBlob
		n.image = n.image || wl.uses.image || wl.uses.tags || wl.uses.repos
		n.tags = n.tags || wl.uses.tags
		n.repos = n.repos || wl.uses.repos
		n.auth = n.auth || wl.auth
		n.docker = n.docker || wl.docker
	}
	return n
}

// allRows are the workload's rows, the peak-RSS row included.
func (wl workload) allRows() []row {
	if !wl.rss {
		return wl.rows
	}
	return append(slices.Clip(wl.rows), row{name: "peak RSS of the server during " + wl.rows[0].name,
		unit: "MiB", lowerBetter: true, goal: Goal{Ratio: 0.5}})
}

// target is a server with what the set-up pushed to it.
type target struct {
	*server
	c     *http.Client
	opts  Options
	idx   int    // 0 for wharf, 1 for distribution
	dir   string // for the files of the push workloads
	blob  []byte // the pull blob, in repo pullRepo
	image image  // in manifestRepo as tag "latest", tagsRepo under opts.Tags tags
	// auth is this side's token-auth servers, holding authImages; nil
	// unless a selected workload needs them.
	auth       *authServers
	authImages []image
	// docker is the private Docker daemon, nil unless a selected workload
	// needs it.
	docker *dockerd
}

const (
	pushRepo     = "bench/push"
	pullRepo     = "bench/pull"
	manifestRepo = "bench/manifest"
	tagsRepo     = "bench/tags"
	catalogRepo  = "bench/catalog/r%06d"
	listPage     = 1000
	mib          = 1 << 20
)

// randomBytes is incompressible, reproducible data: seed picks the content.
func randomBytes(n int64, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8(seedKey(seed, 0))
	_, _ = r.Read(b)
	return b
}

// seedKey is a ChaCha8 key from seed; kind separates streams of different
// uses of one seed.
func seedKey(seed uint64, kind byte) [32]byte {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[:], seed)
	k[8] = kind
	return k
}

// setup pushes what the read workloads read, as far as need asks: the pull
// blob, a small image tagged "latest", opts.Tags tags of it in one
// repository and opts.Repos repositories holding it (mounted, as a real
// client would).
func setup(ctx context.Context, t *target, need needs) error {
	if need.pullBlob {
		t.blob = randomBytes(t.opts.BlobSize, 1)
		if err := pushBlob(ctx, t.c, t.url, pullRepo, t.blob, digestOf(t.blob)); err != nil {
			return fmt.Errorf("set-up: pull blob: %w", err)
		}
	}
	if !need.image {
		return nil
	}
	t.image = newImage(randomBytes(4096, 2))
	if err := pushImage(ctx, t.c, t.url, manifestRepo, "", t.image, "latest"); err != nil {
		return fmt.Errorf("set-up: image: %w", err)
	}
	if need.tags {
		if err := pushImage(ctx, t.c, t.url, tagsRepo, manifestRepo, t.image); err != nil {
			return fmt.Errorf("set-up: tags repository: %w", err)
		}
		err := parallel(ctx, 16, t.opts.Tags, func(ctx context.Context, i int) error {
			return putManifest(ctx, t.c, t.url, tagsRepo, fmt.Sprintf("t%06d", i), t.image.manifest)
		})
		if err != nil {
			return fmt.Errorf("set-up: tags: %w", err)
		}
	}
	if need.repos {
		err := parallel(ctx, 16, t.opts.Repos, func(ctx context.Context, i int) error {
			return pushImage(ctx, t.c, t.url, fmt.Sprintf(catalogRepo, i), manifestRepo, t.image, "latest")
		})
		if err != nil {
			return fmt.Errorf("set-up: repositories: %w", err)
		}
	}
	return nil
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

func workloads(o Options) []workload {
	size := fmt.Sprintf("%s blob", sizeName(o.BlobSize))
	pushGoal := Goal{Ratio: 1.3}
	listGoal := Goal{Ratio: 0.05} // at least 20 times faster
	small := fmt.Sprintf("%d images of 3 × %s layers, %d concurrent clients", o.SmallImages, sizeName(o.SmallLayer), o.SmallClients)
	bigPush := fmt.Sprintf("blob push, monolithic POST+PUT, %s blob, 1 client", sizeName(o.BigSize))
	// The machine's busy time comes in hundredths of a second: too coarse
	// for a smoke run's push of a few MiB.
	cpu := 2
	if o.Smoke {
		cpu = 1
	}
	return []workload{
		{rows: []row{{name: fmt.Sprintf("blob push, monolithic POST+PUT, %s, 1 client", size), unit: "MiB/s", goal: pushGoal, ceiling: CeilingPush}},
			// One push per turn: pushes of 64 MiB last a few hundred
			// milliseconds, and how much the guest must fault in from the
			// host for the page cache they grow changes from second to
			// second; taking turns gives both servers the same machine.
			run: pushMonolithic(o.BlobSize, 0), turns: o.Pushes, cost: true},
		{rows: append([]row{{name: bigPush, unit: "MiB/s", goal: Goal{Ratio: 1.3, LimitShare: 0.8}, ceiling: CeilingPush}}, cpuRows(bigPush, cpu)...),
			run: pushMonolithic(o.BigSize, cpu), rss: true},
		{rows: []row{{name: fmt.Sprintf("blob push, chunked PATCH, %s chunks, %s blob, 1 client", sizeName(o.ChunkSize), sizeName(o.ChunkedSize)),
			unit: "MiB/s", goal: pushGoal, ceiling: CeilingPush}},
			run: pushChunkedWorkload, rss: true},
		{rows: []row{{name: fmt.Sprintf("blob pull GET, %s, 1 client", size), unit: "MiB/s", goal: Goal{Ratio: 1.2, LimitShare: 0.8}, ceiling: CeilingPull}},
			// In turns, as the short pushes: a pass of one client lasts
			// tens of milliseconds.
			run: pullBlob(1, o.Pushes, false), turns: o.Pushes, uses: needs{pullBlob: true}},
		{rows: []row{{name: fmt.Sprintf("blob pull GET, %s, 16 concurrent clients", size), unit: "MiB/s", goal: Goal{Ratio: 1.2, LimitShare: 0.8}, ceiling: CeilingPull16}},
			run: pullBlob(16, o.Pushes, false), uses: needs{pullBlob: true}, cost: true},
		{rows: []row{{name: fmt.Sprintf("blob pull GET with token auth (a token per GET), %s, 16 concurrent clients", size), unit: "MiB/s", ceiling: CeilingPull16}},
			run: pullBlob(16, o.Pushes, true), auth: true, uses: needs{pullBlob: true}},
		{rows: []row{
			{name: "small images push, " + small, unit: "images/s", goal: Goal{Ratio: 2}, ceiling: CeilingMemory},
			{name: "small images pull, " + small, unit: "images/s", goal: Goal{Ratio: 2}, ceiling: CeilingMemory},
			{name: fmt.Sprintf("small images pulled again, %d more times each (warm), ", smallWarmPulls) + small, unit: "images/s", goal: Goal{Ratio: 2, LimitShare: 0.75}, ceiling: CeilingMemory},
		}, run: smallImages, profile: smallPullsAgain, profileRow: 2, rss: true, cost: true},
		{rows: []row{{name: "small images pull with token auth (a token per image), " + small, unit: "images/s", ceiling: CeilingMemory}},
			run: smallImagesAuth, auth: true},
		costly(manifestWorkload(o, "manifest GET by tag", http.MethodGet, func(t *target) string { return "latest" })),
		manifestWorkload(o, "manifest HEAD by digest", http.MethodHead, func(t *target) string { return t.image.manifestDigest }),
		listWorkload(fmt.Sprintf("tag list, %d tags, first page (n=%d)", o.Tags, listPage), "/v2/"+tagsRepo+"/tags/list", o.Tags, true, listGoal, needs{tags: true}),
		listWorkload(fmt.Sprintf("tag list, %d tags, full walk (n=%d pages)", o.Tags, listPage), "/v2/"+tagsRepo+"/tags/list", o.Tags, false, listGoal, needs{tags: true}),
		listWorkload(fmt.Sprintf("_catalog, %d repositories, first page (n=%d)", o.Repos, listPage), "/v2/_catalog", o.Repos, true, listGoal, needs{repos: true}),
		listWorkload(fmt.Sprintf("_catalog, %d repositories, full walk (n=%d pages)", o.Repos, listPage), "/v2/_catalog", o.Repos, false, listGoal, needs{repos: true}),
		dockerWorkload(o),
	}
}

// costly marks wl for the features pass.
func costly(wl workload) workload {
	wl.cost = true
	return wl
}

func sizeName(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	if n >= mib && n%mib == 0 {
		return fmt.Sprintf("%d MiB", n/mib)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// pushMonolithic pushes a fresh random blob of size bytes, streamed from a
// file; writing and hashing the file is not timed. It also returns the
// first cpu values of cpuRows: the server's CPU seconds per GiB pushed, and
// the share of the machine's cores busy while the push ran (client, server
// and kernel).
func pushMonolithic(size int64, cpu int) func(ctx context.Context, t *target, round int) ([]float64, error) {
	return func(ctx context.Context, t *target, round int) ([]float64, error) {
		path, d, err := randomFile(t.dir, size, uint64(1000+round*100))
		if err != nil {
			return nil, err
		}
		defer os.Remove(path)
		settleDisk()
		pid := t.cmd.Process.Pid
		before, err := sampleCPU(pid)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		err = pushBlobFile(ctx, t.c, t.url, pushRepo, path, d)
		took := time.Since(start)
		after, serr := sampleCPU(pid)
		if err = errors.Join(err, serr); err != nil {
			return nil, err
		}
		var used cpuUse
		used.add(before, after)
		if cpu == 0 && t.opts.Progress != nil {
			// The short pushes report no CPU rows; their progress lines
			// still tell a slow turn that burnt CPU from one that waited.
			fmt.Fprintf(t.opts.Progress, "    from %s: server CPU %.0f ms (user %.0f, system %.0f) in %.0f ms, all cores %.0f %% busy\n",
				start.UTC().Format("15:04:05.000"), used.proc.Seconds()*1000, used.user.Seconds()*1000, used.sys.Seconds()*1000, took.Seconds()*1000, used.busyPercent())
		}
		vals := []float64{float64(size) / mib / took.Seconds(),
			used.proc.Seconds() / (float64(size) / (1 << 30)), used.busyPercent()}
		return vals[:1+cpu], nil
	}
}

// cpuRows are the first n rows pushMonolithic adds with cpu n, for the
// push named name.
func cpuRows(name string, n int) []row {
	return []row{
		{name: "server CPU time per GiB during " + name, unit: "core-s", lowerBetter: true},
		{name: fmt.Sprintf("all cores busy during %s (client, server and kernel, %d cores)", name, runtime.NumCPU()), unit: "%"},
	}[:n]
}

// pushChunkedWorkload pushes one fresh random blob of opts.ChunkedSize in
// PATCH requests of opts.ChunkSize.
func pushChunkedWorkload(ctx context.Context, t *target, round int) ([]float64, error) {
	path, d, err := randomFile(t.dir, t.opts.ChunkedSize, uint64(5000+round))
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	settleDisk()
	start := time.Now()
	if err := pushChunked(ctx, t.c, t.url, pushRepo, path, d, t.opts.ChunkSize); err != nil {
		return nil, err
	}
	return []float64{float64(t.opts.ChunkedSize) / mib / time.Since(start).Seconds()}, nil
}

// randomFile writes size random bytes (seed picks them) to a new file in
// dir and returns its path and digest.
func randomFile(dir string, size int64, seed uint64) (path, digest string, err error) {
	f, err := os.CreateTemp(dir, "blob-")
	if err != nil {
		return "", "", fmt.Errorf("wharfbench: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	r := rand.NewChaCha8(seedKey(seed, 'f'))
	buf := make([]byte, mib)
	for done := int64(0); done < size; {
		n := min(int64(len(buf)), size-done)
		_, _ = r.Read(buf[:n])
		h.Write(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			return "", "", fmt.Errorf("wharfbench: %w", err)
		}
		done += n
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("wharfbench: %w", err)
	}
	return f.Name(), "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// pullBlob GETs the pull blob: clients at once, passes times over, and
// reports bytes received per second of wall time. An untimed pass comes
// first, so the timed ones find the connections open and the file's pages
// as the server left them, not as the previous workload did. With auth,
// it pulls from the token-auth servers, and each GET first asks the token
// server for a pull token, as each `docker pull` of a layer does.
func pullBlob(clients, passes int, auth bool) func(ctx context.Context, t *target, round int) ([]float64, error) {
	return func(ctx context.Context, t *target, _ int) ([]float64, error) {
		base := t.url
		if auth {
			base = t.auth.registry.url
		}
		u := base + "/v2/" + pullRepo + "/blobs/" + digestOf(t.blob)
		pass := func() error {
			return parallel(ctx, clients, clients, func(ctx context.Context, _ int) error {
				if auth {
					tok, err := t.auth.token(ctx, t.c, "repository:"+pullRepo+":pull")
					if err != nil {
						return err
					}
					ctx = withBearer(ctx, tok)
				}
				_, n, err := do(ctx, t.c, http.MethodGet, u, nil, nil, http.StatusOK)
				if err == nil && n != int64(len(t.blob)) {
					err = fmt.Errorf("GET %s: %d bytes, want %d", u, n, len(t.blob))
				}
				return err
			})
		}
		start := time.Now()
		if err := pass(); err != nil {
			return nil, err
		}
		warm := float64(clients) * float64(len(t.blob)) / mib / time.Since(start).Seconds()
		fmt.Fprintf(t.opts.Progress, "    untimed pass %s MiB/s\n", num(warm))
		start = time.Now()
		for range passes {
			if err := pass(); err != nil {
				return nil, err
			}
		}
		bytes := float64(passes) * float64(clients) * float64(len(t.blob))
		return []float64{bytes / mib / time.Since(start).Seconds()}, nil
	}
}

// manifestWorkload keeps opts.Conns connections busy with one request each,
// back to back, for opts.Duration: requests/s, p50 and p99 latency.
func manifestWorkload(o Options, what, method string, ref func(*target) string) workload {
	label := fmt.Sprintf("%s, %d connections", what, o.Conns)
	return workload{
		uses: needs{image: true},
		rows: []row{
			{name: label, unit: "requests/s", goal: Goal{Ratio: 2}, ceiling: CeilingMemory},
			{name: label + ", p50", unit: "ms", lowerBetter: true},
			{name: label + ", p99", unit: "ms", lowerBetter: true, goal: Goal{Ratio: 0.5}},
		},
		run: func(ctx context.Context, t *target, _ int) ([]float64, error) {
			u := t.url + "/v2/" + manifestRepo + "/manifests/" + ref(t)
			hdr := http.Header{"Accept": {ociManifest}}
			lat := make([][]time.Duration, t.opts.Conns)
			// A warm-up opens the connections; only requests started after
			// it count, so neither server pays for TCP set-up in p99.
			start := time.Now().Add(min(t.opts.Duration/5, time.Second))
			deadline := start.Add(t.opts.Duration)
			err := parallel(ctx, t.opts.Conns, t.opts.Conns, func(ctx context.Context, i int) error {
				for {
					s := time.Now()
					if !s.Before(deadline) {
						return nil
					}
					if _, _, err := do(ctx, t.c, method, u, nil, hdr, http.StatusOK); err != nil {
						return err
					}
					if !s.Before(start) {
						lat[i] = append(lat[i], time.Since(s))
					}
				}
			})
			if err != nil {
				return nil, err
			}
			elapsed := time.Since(start)
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) == 0 {
				return nil, fmt.Errorf("%s %s: no request completed", method, u)
			}
			ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / float64(time.Millisecond) }
			return []float64{float64(len(all)) / elapsed.Seconds(), ms(0.50), ms(0.99)}, nil
		},
	}
}

// listWorkload times one list request (firstOnly) or a walk of every page
// following Link, repeated until it has at least 3 samples and half a
// second, and reports the mean time of one.
// entries (at least) are listed, so a walk must read entries/listPage pages:
// a server that ignored n would fail here rather than look fast.
func listWorkload(name, path string, entries int, firstOnly bool, g Goal, uses needs) workload {
	return workload{
		uses: uses,
		rows: []row{{name: name, unit: "ms", lowerBetter: true, goal: g}},
		run: func(ctx context.Context, t *target, _ int) ([]float64, error) {
			first := fmt.Sprintf("%s?n=%d", path, listPage)
			var n int
			start := time.Now()
			for n < 3 || (time.Since(start) < 500*time.Millisecond && n < 1000) {
				if firstOnly {
					if _, _, err := do(ctx, t.c, http.MethodGet, t.url+first, nil, nil, http.StatusOK); err != nil {
						return nil, err
					}
				} else {
					pages, err := walk(ctx, t.c, t.url, first)
					if err != nil {
						return nil, err
					}
					if want := max(1, entries/listPage); pages < want {
						return nil, fmt.Errorf("%s: %d pages, want at least %d", first, pages, want)
					}
				}
				n++
			}
			return []float64{float64(time.Since(start)) / float64(time.Millisecond) / float64(n)}, nil
		},
	}
}
