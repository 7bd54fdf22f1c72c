package wharfbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// Options sizes a run. Zero values take the defaults of the real run;
// Smoke overrides everything with tiny sizes.
type Options struct {
	Rounds   int           // rounds, each running every workload on both servers
	BlobSize int64         // bytes per pushed and pulled blob
	Pushes   int           // blobs pushed (and pulls repeated) per round
	Tags     int           // tags in the tag-list repository
	Repos    int           // repositories in the catalog
	Duration time.Duration // of each manifest workload
	Conns    int           // connections of the manifest workloads
	LimitMiB int64         // bytes hashed and written by the physical-limit probes, in MiB
	Smoke    bool          // tiny everything: checks the harness, measures nothing
	Dir      string        // parent of the run's temporary directory (data, logs)
	Keep     bool          // keep the temporary directory (data and logs)
	// Only, when set, runs just the workloads with a row whose name it
	// matches.
	Only *regexp.Regexp
	// ProfileDir, when set, also takes CPU and allocation profiles of both
	// servers (through their debug listeners) while each workload runs
	// again, unmeasured, after the rounds; the files go there.
	ProfileDir string
	// ProfileSeconds is how long each profile lasts (default 10).
	ProfileSeconds int
	Progress       io.Writer // progress lines; nil discards them
}

func (o Options) withDefaults() Options {
	def := Options{Rounds: 3, BlobSize: 64 * mib, Pushes: 3, Tags: 10000, Repos: 10000,
		Duration: 5 * time.Second, Conns: 64, LimitMiB: 256}
	if o.Smoke {
		def = Options{Rounds: 1, BlobSize: mib, Pushes: 1, Tags: 100, Repos: 100,
			Duration: time.Second, Conns: 64, LimitMiB: 8}
		o.Rounds, o.BlobSize, o.Pushes, o.Tags, o.Repos, o.Duration, o.Conns, o.LimitMiB = 0, 0, 0, 0, 0, 0, 0, 0
	}
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&o.Rounds, def.Rounds)
	set(&o.Pushes, def.Pushes)
	set(&o.Tags, def.Tags)
	set(&o.Repos, def.Repos)
	set(&o.Conns, def.Conns)
	if o.BlobSize <= 0 {
		o.BlobSize = def.BlobSize
	}
	if o.Duration <= 0 {
		o.Duration = def.Duration
	}
	if o.LimitMiB <= 0 {
		o.LimitMiB = def.LimitMiB
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ProfileSeconds <= 0 {
		o.ProfileSeconds = 10
	}
	return o
}

// Result is one row of the results table: the per-round samples of each server.
type Result struct {
	Name, Unit   string
	LowerBetter  bool
	Wharf, Distr []float64
}

// Limit is one physical limit with its per-round samples.
type Limit struct {
	Name, Unit string
	Samples    []float64
}

// Report is what a run measured, and on what.
type Report struct {
	Opts         Options
	Results      []Result
	Limits       []Limit
	CPU          string
	Cores        int
	GoVersion    string
	Distribution string
	Wharf        string
	Date         time.Time
	Elapsed      time.Duration
}

// Run builds wharf, starts it and bin/registry, and measures every workload
// on both, alternating which goes first, opts.Rounds times.
func Run(ctx context.Context, opts Options) (rep *Report, err error) {
	o := opts.withDefaults()
	began := time.Now()
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	distBin, err := distributionBinary(root)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.Dir, "wharfbench-")
	if err != nil {
		return nil, fmt.Errorf("wharfbench: %w", err)
	}
	defer func() {
		if o.Keep || err != nil {
			fmt.Fprintf(o.Progress, "data and logs kept in %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	fmt.Fprintf(o.Progress, "building wharf\n")
	wharfBin, err := buildWharf(ctx, root, dir)
	if err != nil {
		return nil, err
	}
	rep = &Report{Opts: o, CPU: cpuModel(), Cores: runtime.NumCPU(), GoVersion: runtime.Version(),
		Distribution: versionOf(ctx, distBin), Wharf: wharfRevision(ctx, root), Date: time.Now().UTC()}

	profiling := o.ProfileDir != ""
	w, err := startWharf(ctx, wharfBin, dir, profiling)
	if err != nil {
		return nil, err
	}
	defer w.stop()
	d, err := startDistribution(ctx, distBin, dir, profiling)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	fail := func(err error, s *server) error {
		if aerr := s.alive(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return fmt.Errorf("%s: %w (log %s)", s.name, err, s.logPath)
	}
	targets := []*target{
		{server: w, c: newClient(), opts: o},
		{server: d, c: newClient(), opts: o},
	}
	for _, t := range targets {
		fmt.Fprintf(o.Progress, "set-up on %s: %d tags, %d repositories\n", t.name, o.Tags, o.Repos)
		if err := setup(ctx, t); err != nil {
			return nil, fail(err, t.server)
		}
	}

	wls := selected(workloads(o), o.Only)
	if len(wls) == 0 {
		return nil, fmt.Errorf("wharfbench: no workload matches %v", o.Only)
	}
	for _, wl := range wls {
		for _, r := range wl.rows {
			rep.Results = append(rep.Results, Result{Name: r.name, Unit: r.unit, LowerBetter: r.lowerBetter})
		}
	}
	sha := Limit{Name: "SHA-256, one core (crypto/sha256)", Unit: "MiB/s"}
	disk := Limit{Name: "sequential write + fsync, data disk", Unit: "MiB/s"}
	for round := range o.Rounds {
		fmt.Fprintf(o.Progress, "round %d/%d\n", round+1, o.Rounds)
		sha.Samples = append(sha.Samples, sha256Throughput(o.LimitMiB*mib))
		v, err := diskWriteThroughput(dir, o.LimitMiB*mib)
		if err != nil {
			return nil, err
		}
		disk.Samples = append(disk.Samples, v)
		i := 0
		for wi, wl := range wls {
			// Alternate which server goes first, so neither always gets the
			// warmer (or the more fragmented) machine.
			order := targets
			if (round+wi)%2 == 1 {
				order = []*target{targets[1], targets[0]}
			}
			for _, t := range order {
				vals, err := wl.run(ctx, t, round)
				if err != nil {
					return nil, fail(err, t.server)
				}
				for j, v := range vals {
					res := &rep.Results[i+j]
					if t.server == w {
						res.Wharf = append(res.Wharf, v)
					} else {
						res.Distr = append(res.Distr, v)
					}
				}
			}
			i += len(wl.rows)
		}
	}
	rep.Limits = []Limit{sha, disk}
	if profiling {
		if err := profileAll(ctx, o, wls, targets); err != nil {
			return nil, err
		}
	}
	rep.Elapsed = time.Since(began)
	return rep, nil
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func versionOf(ctx context.Context, bin string) string {
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return filepath.Base(bin) + " (version unknown)"
	}
	// registry prints its own path first: keep the module and version.
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), bin))
}

// wharfRevision names the commit measured, and says when the tree had
// uncommitted changes.
func wharfRevision(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown revision"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}
