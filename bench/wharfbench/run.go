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
	"slices"
	"strings"
	"syscall"
	"time"
)

// Options sizes a run. Zero values take the defaults of the real run;
// Smoke overrides everything with tiny sizes.
type Options struct {
	Rounds       int   // rounds, each running every workload on both servers
	BlobSize     int64 // bytes per pushed and pulled blob
	Pushes       int   // blobs pushed (and pulls repeated) per round
	BigSize      int64 // bytes of the large monolithic push
	ChunkedSize  int64 // bytes of the chunked push
	ChunkSize    int64 // bytes per PATCH of the chunked push
	SmallImages  int   // images of the small-image workloads
	SmallLayer   int64 // bytes of each of their three layers
	SmallClients int   // concurrent clients of the small-image workloads
	DockerSize   int64 // bytes of the docker push/pull image, all layers
	// ProxyUpstreamMiBps is the rate of the proxy pass's link to its
	// upstream: 0 is 100 MiB/s, -1 unthrottled.
	ProxyUpstreamMiBps int64
	DockerLayers       int           // its layers
	Tags               int           // tags in the tag-list repository
	Repos              int           // repositories in the catalog
	Duration           time.Duration // of each manifest workload
	Conns              int           // connections of the manifest workloads
	LimitMiB           int64         // bytes hashed, written and sent by the physical-limit probes, in MiB
	GCImages           int           // images of the garbage-collection set, a fifth of them untagged
	GCClients          int           // clients pulling from wharf before and during its collection
	GCRounds           int           // rounds of the garbage-collection pass (each writes and imports a new set)
	// FeaturesWithout leaves some of "metrics", "audit" and
	// "notifications" off on the features pass's "on" server, to tell
	// their costs apart.
	FeaturesWithout []string
	Smoke           bool   // tiny everything: checks the harness, measures nothing
	Dir             string // parent of the run's temporary directory (data, logs)
	Keep            bool   // keep the temporary directory (data and logs)
	// Only, when set, runs just the workloads with a row whose name it
	// matches (the token issuance benchmark's name is "token issuance").
	Only *regexp.Regexp
	// ProfileDir, when set, also takes CPU and allocation profiles of both
	// servers (through their debug listeners) while each workload runs
	// again, unmeasured, after the rounds; the files go there.
	ProfileDir string
	// ProfileSeconds is how long each profile lasts (default 10).
	ProfileSeconds int
	// WharfConfig, when set, is a wharf.yml the main table's wharf runs
	// with. (The features pass measures metrics, audit and notifications
	// on against off in the same run, on servers of its own.)
	WharfConfig string
	Progress    io.Writer // progress lines; nil discards them
}

func (o Options) withDefaults() Options {
	def := Options{Rounds: 3, BlobSize: 64 * mib, Pushes: 3, BigSize: 1 << 30, ChunkedSize: 256 * mib, ChunkSize: 8 * mib,
		SmallImages: 500, SmallLayer: 16 << 10, SmallClients: 8, DockerSize: 200 * mib, DockerLayers: 5,
		Tags: 10000, Repos: 10000, Duration: 5 * time.Second, Conns: 64, LimitMiB: 256, GCImages: 10000, GCClients: 4, GCRounds: 1}
	if o.Smoke {
		def = Options{Rounds: 1, BlobSize: mib, Pushes: 1, BigSize: 4 * mib, ChunkedSize: 3 * mib, ChunkSize: mib,
			SmallImages: 20, SmallLayer: 1 << 10, SmallClients: 4, DockerSize: 5 * mib, DockerLayers: 5,
			Tags: 100, Repos: 100, Duration: time.Second, Conns: 64, LimitMiB: 8, GCImages: 50, GCClients: 2, GCRounds: 1}
		keep := o
		o = def
		o.Smoke, o.Dir, o.Keep, o.Only, o.ProfileDir, o.ProfileSeconds, o.Progress = true, keep.Dir, keep.Keep, keep.Only, keep.ProfileDir, keep.ProfileSeconds, keep.Progress
		o.FeaturesWithout, o.ProxyUpstreamMiBps = keep.FeaturesWithout, keep.ProxyUpstreamMiBps
	}
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setSize := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	setInt(&o.Rounds, def.Rounds)
	setInt(&o.Pushes, def.Pushes)
	setInt(&o.SmallImages, def.SmallImages)
	setInt(&o.SmallClients, def.SmallClients)
	setInt(&o.DockerLayers, def.DockerLayers)
	setInt(&o.Tags, def.Tags)
	setInt(&o.Repos, def.Repos)
	setInt(&o.Conns, def.Conns)
	setInt(&o.GCImages, def.GCImages)
	setInt(&o.GCClients, def.GCClients)
	setInt(&o.GCRounds, def.GCRounds)
	setSize(&o.BlobSize, def.BlobSize)
	setSize(&o.BigSize, def.BigSize)
	setSize(&o.ChunkedSize, def.ChunkedSize)
	setSize(&o.ChunkSize, def.ChunkSize)
	setSize(&o.SmallLayer, def.SmallLayer)
	setSize(&o.DockerSize, def.DockerSize)
	setSize(&o.LimitMiB, def.LimitMiB)
	if o.Duration <= 0 {
		o.Duration = def.Duration
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ProfileSeconds <= 0 {
		o.ProfileSeconds = 10
	}
	return o
}

// loopbackSends is how many times a round sends the limit probes' file
// over loopback; every send is a sample of the pull rows' limit.
const loopbackSends = 3

// Goal is a row's target: the wharf/distribution ratio must be at least
// Ratio (at most, for rows where lower is better), and wharf must reach at
// least LimitShare of the row's physical limit when that is set.
type Goal struct {
	Ratio, LimitShare float64
}

// Ceiling names the physical limit a throughput row is compared with.
type Ceiling string

const (
	// CeilingPush is the server that reads and hashes a PUT and stores
	// nothing (receiveThroughput with hash): what a push that verifies its
	// digest reaches at best with this client on this machine. (Before, it
	// was min(SHA-256 of one core, disk write with fsync), which the same
	// client and server sharing the cores never reach.)
	CeilingPush Ceiling = "push"
	CeilingPull Ceiling = "pull" // loopback sendfile read
	// CeilingPull16 is the loopback sendfile read by 16 readers at once.
	CeilingPull16 Ceiling = "pull16"
	// CeilingMemory is the same workload on the in-memory server
	// (memory.go), in the same round: the row's own ceiling.
	CeilingMemory Ceiling = "memory"
)

// Result is one row of the results table: the per-round samples of each
// server, or why it was not measured.
type Result struct {
	Name, Unit   string
	LowerBetter  bool
	Goal         Goal
	Ceiling      Ceiling
	Wharf, Distr []float64
	// Memory are the in-memory server's samples of the same row, for
	// rows whose ceiling is CeilingMemory.
	Memory      []float64
	NotMeasured string
}

// Limit is one physical limit with its per-round samples.
type Limit struct {
	Key        string // "sha256", "disk", "loopback", "loopback-16", "receive" or "receive-sha256"
	Name, Unit string
	Samples    []float64
}

// last is the latest sample, or 0 before the first.
func (l Limit) last() float64 {
	if len(l.Samples) == 0 {
		return 0
	}
	return l.Samples[len(l.Samples)-1]
}

// Report is what a run measured, and on what.
type Report struct {
	Opts    Options
	Results []Result
	Limits  []Limit
	Tokens  TokenIssuance
	// Comparisons are the tables of the garbage-collection and features
	// passes, in that order.
	Comparisons  []Comparison
	LeftOut      []string // workloads -only left out
	CPU          string
	Cores        int
	GoVersion    string
	Distribution string
	Wharf        string
	Date         time.Time
	Elapsed      time.Duration
	// LoadBefore and LoadAfter are /proc/loadavg's 1, 5 and 15 minute
	// load averages when the run started and ended: other work on the
	// machine shows there.
	LoadBefore, LoadAfter string
}

const tokenIssuanceName = "token issuance, one user, credential cache off and on"

// Run builds wharf, starts it and bin/registry, and measures every workload
// on both, alternating which goes first, opts.Rounds times; then the
// garbage-collection, features, S3 and replicas passes. The program's main (or TestMain)
// must call ServeReceiveProbe before it.
func Run(ctx context.Context, opts Options) (rep *Report, err error) {
	if os.Getenv(receiveProbeEnv) != "" {
		// Started as a probe's server by a program whose main does not
		// call ServeReceiveProbe: running the benchmarks again here would
		// start probes of its own, without end.
		return nil, fmt.Errorf("wharfbench: started as a receive probe (%s is set), but the program's main did not call ServeReceiveProbe before Run", receiveProbeEnv)
	}
	o := opts.withDefaults()
	if err := CheckFeatures(o.FeaturesWithout); err != nil {
		return nil, err
	}
	began := time.Now()
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	distBin, err := distributionBinary(root)
	if err != nil {
		return nil, err
	}
	all := workloads(o)
	wls := selected(all, o.Only)
	tokensWanted := o.Only == nil || o.Only.MatchString(tokenIssuanceName)
	gcWanted, featuresWanted := wanted(o.Only, gcSection), wanted(o.Only, featuresSection)
	s3Wanted, replicasWanted := wanted(o.Only, s3Section), wanted(o.Only, replicasSection)
	proxyWanted := wanted(o.Only, proxySection)
	if len(wls) == 0 && !tokensWanted && !gcWanted && !featuresWanted && !s3Wanted && !replicasWanted && !proxyWanted {
		return nil, fmt.Errorf("wharfbench: no workload matches %v", o.Only)
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
		Distribution: versionOf(ctx, distBin), Wharf: wharfRevision(ctx, root), Date: time.Now().UTC(), LoadBefore: loadAverage()}
	for _, wl := range all {
		if !slices.ContainsFunc(wls, func(s workload) bool { return s.rows[0].name == wl.rows[0].name }) {
			rep.LeftOut = append(rep.LeftOut, wl.rows[0].name)
		}
	}
	for _, p := range []struct {
		title string
		want  bool
	}{{tokenIssuanceName, tokensWanted}, {gcSection, gcWanted}, {featuresSection, featuresWanted}, {s3Section, s3Wanted}, {replicasSection, replicasWanted}, {proxySection, proxyWanted}} {
		if !p.want {
			rep.LeftOut = append(rep.LeftOut, p.title)
		}
	}
	if len(wls) > 0 {
		if err := sideBySide(ctx, o, rep, wls, wharfBin, distBin, dir); err != nil {
			return nil, err
		}
	}
	switch {
	case !tokensWanted:
	case o.Smoke:
		rep.Tokens.NotMeasured = "left out of smoke runs; `make bench` or `make bench-token` measures it"
	default:
		fmt.Fprintf(o.Progress, "token issuance (go test -bench BenchmarkTokenIssuance ./bench/)\n")
		if rep.Tokens, err = tokenIssuance(ctx, root); err != nil {
			return nil, err
		}
	}
	if gcWanted {
		cs, err := runGC(ctx, o, wharfBin, distBin, dir)
		if err != nil {
			return nil, err
		}
		rep.Comparisons = append(rep.Comparisons, cs...)
	}
	if featuresWanted {
		cs, err := runFeatures(ctx, o, wharfBin, dir, all)
		if err != nil {
			return nil, err
		}
		rep.Comparisons = append(rep.Comparisons, cs...)
	}
	if s3Wanted {
		cs, err := runS3(ctx, o, root, wharfBin, distBin, dir)
		if err != nil {
			return nil, err
		}
		rep.Comparisons = append(rep.Comparisons, cs...)
	}
	if replicasWanted {
		cs, err := runReplicas(ctx, o, wharfBin, dir)
		if err != nil {
			return nil, err
		}
		rep.Comparisons = append(rep.Comparisons, cs...)
	}
	if proxyWanted {
		cs, err := runProxy(ctx, o, wharfBin, distBin, dir)
		if err != nil {
			return nil, err
		}
		rep.Comparisons = append(rep.Comparisons, cs...)
	}
	rep.Elapsed = time.Since(began)
	rep.LoadAfter = loadAverage()
	return rep, nil
}

// serverFailed names the server an error happened on, with its log, and
// says whether it had exited.
func serverFailed(err error, s *server) error {
	if aerr := s.alive(); aerr != nil {
		err = errors.Join(err, aerr)
	}
	return fmt.Errorf("%s: %w (log %s)", s.name, err, s.logPath)
}

// measureRound runs wl once per turn on each of targets, in an order that
// alternates with parity and from turn to turn, and returns each target's
// values (its turns combined by harmonicMeans), in the order of targets.
// rows are the workload's results, for the progress lines.
func measureRound(ctx context.Context, wl workload, targets []*target, round, parity int, rows []Result) ([][]float64, error) {
	// Alternate which server goes first, so neither always gets the
	// warmer (or the more fragmented) machine; a workload in turns
	// alternates within the round as well (A B, B A, A B, …).
	turns := max(wl.turns, 1)
	perTurn := make([][][]float64, len(targets))
	for turn := range turns {
		order := make([]int, len(targets))
		for k := range order {
			order[k] = k
		}
		if (parity+turn)%2 == 1 {
			slices.Reverse(order)
		}
		for _, k := range order {
			t := targets[k]
			fmt.Fprintf(t.opts.Progress, "  %s: %s\n", t.name, wl.rows[0].name)
			vals, err := runOnce(ctx, wl, t, round*turns+turn)
			if err != nil {
				if wl.auth {
					return nil, serverFailed(errors.Join(err, t.auth.alive()), t.auth.registry)
				}
				return nil, serverFailed(err, t.server)
			}
			fmt.Fprintf(t.opts.Progress, "    %s\n", roundValues(rows, vals))
			perTurn[k] = append(perTurn[k], vals)
		}
	}
	out := make([][]float64, len(targets))
	for k := range targets {
		out[k] = harmonicMeans(perTurn[k])
	}
	return out, nil
}

// runOnce runs wl once on t, measuring the server's peak RSS around it when
// the workload asks. The client's idle connections are closed after it, so
// the next workload does not find (and the server does not hold) the 64
// connections a manifest workload left open, or any other's.
func runOnce(ctx context.Context, wl workload, t *target, round int) ([]float64, error) {
	defer t.c.CloseIdleConnections()
	pid := t.cmd.Process.Pid
	settleDisk()
	if wl.rss {
		if err := resetPeakRSS(pid); err != nil {
			return nil, err
		}
	}
	vals, err := wl.run(ctx, t, round)
	if err != nil || !wl.rss {
		return vals, err
	}
	peak, err := peakRSS(pid)
	if err != nil {
		return nil, err
	}
	return append(vals, peak), nil
}

// harmonicMeans combines the values of a round's turns, row by row: for
// rates over equal work (MiB/s of pushes of one size) the harmonic mean is
// the total work over the total time, what the turns would have measured
// back to back. One turn is returned as it is.
func harmonicMeans(turns [][]float64) []float64 {
	if len(turns) == 1 {
		return turns[0]
	}
	out := make([]float64, len(turns[0]))
	for j := range out {
		var inv float64
		for _, vals := range turns {
			inv += 1 / vals[j]
		}
		out[j] = float64(len(turns)) / inv
	}
	return out
}

// roundValues prints one round's values of a workload for the progress
// log, each with the unit of its row, so a wide spread can be traced to
// the round that made it.
func roundValues(rows []Result, vals []float64) string {
	parts := make([]string, len(vals))
	for j, v := range vals {
		parts[j] = num(v) + " " + rows[j].Unit
	}
	return strings.Join(parts, "; ")
}

// settleDisk writes out whatever the page cache holds dirty (sync(2)) before
// a workload's clock starts, so the workload does not pay for the writes of
// its own set-up (a generated blob, a loaded image) or of the workload
// before it. That matters for fairness, not only for noise: wharf fsyncs
// every blob it commits and distribution syncs nothing, so dirty data left
// by distribution's push (or by the client) was flushed during wharf's
// next push, and never the other way round.
func settleDisk() { syscall.Sync() }

// loadAverage is the first three fields of /proc/loadavg, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], ", ")
	}
	return "unknown"
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
	// The page and chart this run rewrites do not count.
	st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--",
		".", ":!docs/benchmarks.md", ":!docs/benchmarks.png").Output()
	if err == nil && len(st) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}
