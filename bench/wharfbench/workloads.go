package wharfbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// row is one line of the results table.
type row struct {
	name        string
	unit        string
	lowerBetter bool
}

// workload measures one server once (one round) and returns one value per row.
type workload struct {
	rows []row
	run  func(ctx context.Context, t *target, round int) ([]float64, error)
}

// target is a server with what the set-up pushed to it.
type target struct {
	*server
	c     *http.Client
	opts  Options
	blob  []byte // the pull blob, in repo pullRepo
	image image  // in manifestRepo as tag "latest", tagsRepo under opts.Tags tags
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
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	_, _ = r.Read(b)
	return b
}

// setup pushes what the read workloads read: the pull blob, a small image
// tagged "latest", opts.Tags tags of it in one repository and opts.Repos
// repositories holding it (mounted, as a real client would).
func setup(ctx context.Context, t *target) error {
	t.blob = randomBytes(t.opts.BlobSize, 1)
	if err := pushBlob(ctx, t.c, t.url, pullRepo, t.blob, digestOf(t.blob)); err != nil {
		return fmt.Errorf("set-up: pull blob: %w", err)
	}
	t.image = newImage(randomBytes(4096, 2))
	if err := pushImage(ctx, t.c, t.url, manifestRepo, "", t.image, "latest"); err != nil {
		return fmt.Errorf("set-up: image: %w", err)
	}
	if err := pushImage(ctx, t.c, t.url, tagsRepo, manifestRepo, t.image); err != nil {
		return fmt.Errorf("set-up: tags repository: %w", err)
	}
	err := parallel(ctx, 16, t.opts.Tags, func(ctx context.Context, i int) error {
		return putManifest(ctx, t.c, t.url, tagsRepo, fmt.Sprintf("t%06d", i), t.image.manifest)
	})
	if err != nil {
		return fmt.Errorf("set-up: tags: %w", err)
	}
	err = parallel(ctx, 16, t.opts.Repos, func(ctx context.Context, i int) error {
		return pushImage(ctx, t.c, t.url, fmt.Sprintf(catalogRepo, i), manifestRepo, t.image, "latest")
	})
	if err != nil {
		return fmt.Errorf("set-up: repositories: %w", err)
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
	return []workload{
		{rows: []row{{name: fmt.Sprintf("blob push, monolithic POST+PUT, %s, 1 client", size), unit: "MiB/s"}}, run: pushMonolithic},
		{rows: []row{{name: fmt.Sprintf("blob pull GET, %s, 1 client", size), unit: "MiB/s"}}, run: pullBlob(1)},
		{rows: []row{{name: fmt.Sprintf("blob pull GET, %s, 16 concurrent clients", size), unit: "MiB/s"}}, run: pullBlob(16)},
		manifestWorkload(o, "manifest GET by tag", http.MethodGet, func(t *target) string { return "latest" }),
		manifestWorkload(o, "manifest HEAD by digest", http.MethodHead, func(t *target) string { return t.image.manifestDigest }),
		listWorkload(fmt.Sprintf("tag list, %d tags, first page (n=%d)", o.Tags, listPage), "/v2/"+tagsRepo+"/tags/list", o.Tags, true),
		listWorkload(fmt.Sprintf("tag list, %d tags, full walk (n=%d pages)", o.Tags, listPage), "/v2/"+tagsRepo+"/tags/list", o.Tags, false),
		listWorkload(fmt.Sprintf("_catalog, %d repositories, first page (n=%d)", o.Repos, listPage), "/v2/_catalog", o.Repos, true),
		listWorkload(fmt.Sprintf("_catalog, %d repositories, full walk (n=%d pages)", o.Repos, listPage), "/v2/_catalog", o.Repos, false),
	}
}

func sizeName(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	if n%mib == 0 {
		return fmt.Sprintf("%d MiB", n/mib)
	}
	return fmt.Sprintf("%d B", n)
}

// pushMonolithic pushes opts.Pushes fresh random blobs, one after the other;
// generating and hashing them is not timed.
func pushMonolithic(ctx context.Context, t *target, round int) ([]float64, error) {
	var total time.Duration
	for i := range t.opts.Pushes {
		data := randomBytes(t.opts.BlobSize, uint64(1000+round*100+i))
		d := digestOf(data)
		start := time.Now()
		if err := pushBlob(ctx, t.c, t.url, pushRepo, data, d); err != nil {
			return nil, err
		}
		total += time.Since(start)
	}
	return []float64{float64(t.opts.Pushes) * float64(t.opts.BlobSize) / mib / total.Seconds()}, nil
}

// pullBlob GETs the pull blob: clients at once, opts.Pushes times over,
// and reports bytes received per second of wall time.
func pullBlob(clients int) func(ctx context.Context, t *target, round int) ([]float64, error) {
	return func(ctx context.Context, t *target, _ int) ([]float64, error) {
		u := t.url + "/v2/" + pullRepo + "/blobs/" + digestOf(t.blob)
		var total time.Duration
		for range t.opts.Pushes {
			start := time.Now()
			err := parallel(ctx, clients, clients, func(ctx context.Context, _ int) error {
				_, n, err := do(ctx, t.c, http.MethodGet, u, nil, nil, http.StatusOK)
				if err == nil && n != int64(len(t.blob)) {
					err = fmt.Errorf("GET %s: %d bytes, want %d", u, n, len(t.blob))
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			total += time.Since(start)
		}
		bytes := float64(t.opts.Pushes) * float64(clients) * float64(len(t.blob))
		return []float64{bytes / mib / total.Seconds()}, nil
	}
}

// manifestWorkload keeps opts.Conns connections busy with one request each,
// back to back, for opts.Duration: requests/s, p50 and p99 latency.
func manifestWorkload(o Options, what, method string, ref func(*target) string) workload {
	label := fmt.Sprintf("%s, %d connections", what, o.Conns)
	return workload{
		rows: []row{
			{name: label, unit: "requests/s"},
			{name: label + ", p50", unit: "ms", lowerBetter: true},
			{name: label + ", p99", unit: "ms", lowerBetter: true},
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
func listWorkload(name, path string, entries int, firstOnly bool) workload {
	return workload{
		rows: []row{{name: name, unit: "ms", lowerBetter: true}},
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
