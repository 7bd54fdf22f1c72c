package wharfbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The features pass measures what metrics, the audit log and notifications
// cost the push and pull workloads: two more wharf servers, one with all
// three off and one with all three on (metrics scraped, every event sent to
// a local receiver that answers 200), run the workloads marked cost in
// turns, side by side in the same run.

// scrapeEvery is how often the pass scrapes /metrics: far more often than
// a Prometheus server does (15 s to 1 min), so the scrapes' cost shows if
// it is there.
const scrapeEvery = time.Second

// receiver is a notification endpoint that accepts every envelope with 200
// and counts its events. It runs in this process, on the cores wharf runs
// on, so its CPU counts against the "on" server: it does what a receiver
// that discards the events must (read the body into a reused buffer) and
// counts the events without decoding them (one "action" key an event: the
// envelope's events are flat objects, their references have none).
type receiver struct {
	srv    *http.Server
	url    string
	events atomic.Int64
	posts  atomic.Int64
	bad    atomic.Int64 // bodies that were not an envelope
	bufs   sync.Pool    // *bytes.Buffer
}

var (
	envelopeHead = []byte(`{"events":[`)
	envelopeTail = []byte(`]}`)
	actionKey    = []byte(`"action":"`)
)

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("wharfbench: %w", err)
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/events"}
	r.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(r.serveHTTP)}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.posts.Add(1)
	b, _ := r.bufs.Get().(*bytes.Buffer)
	if b == nil {
		b = new(bytes.Buffer)
	}
	b.Reset()
	_, err := b.ReadFrom(io.LimitReader(req.Body, 64<<20))
	body := bytes.TrimSpace(b.Bytes())
	if err != nil || !bytes.HasPrefix(body, envelopeHead) || !bytes.HasSuffix(body, envelopeTail) {
		r.bad.Add(1)
	} else {
		r.events.Add(int64(bytes.Count(body, actionKey)))
	}
	r.bufs.Put(b)
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) stop() { _ = r.srv.Close() }

// sampleServers samples the CPU time of each target's process.
func sampleServers(targets []*target) ([]cpuSample, error) {
	var out []cpuSample
	for _, t := range targets {
		s, err := sampleCPU(t.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// settleReceiver waits, with notifications on, until the receiver has got
// no event for half a second (at most 10 s): the events of the last
// workload are delivered.
func settleReceiver(r *receiver, notifying bool) {
	last := int64(-1)
	for deadline := time.Now().Add(10 * time.Second); notifying && time.Now().Before(deadline); {
		n := r.events.Load()
		if n == last {
			return
		}
		last = n
		time.Sleep(500 * time.Millisecond)
	}
}

// scraper GETs a /metrics URL every scrapeEvery until stopped, and counts
// the scrapes that returned wharf's series.
type scraper struct {
	ok, failed atomic.Int64
	lastErr    atomic.Value // string
	stopc      chan struct{}
	wg         sync.WaitGroup
}

func startScraper(url string) *scraper {
	s := &scraper{stopc: make(chan struct{})}
	c := &http.Client{Timeout: 10 * time.Second}
	s.wg.Go(func() {
		t := time.NewTicker(scrapeEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
			res, err := c.Get(url)
			if err != nil {
				s.failed.Add(1)
				s.lastErr.Store(err.Error())
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("\nwharf_")) {
				s.failed.Add(1)
				s.lastErr.Store(fmt.Sprintf("GET %s: %s, %d bytes without wharf_ series", url, res.Status, len(b)))
				continue
			}
			s.ok.Add(1)
		}
	})
	return s
}

func (s *scraper) stop() {
	close(s.stopc)
	s.wg.Wait()
}

// features are what the "on" server turns on, by the names
// Options.FeaturesWithout takes.
var features = []string{"metrics", "audit", "notifications"}

// CheckFeatures refuses a name that is not one of the features.
func CheckFeatures(names []string) error {
	for _, n := range names {
		if !slices.Contains(features, n) {
			return fmt.Errorf("wharfbench: -features-without: %q is not one of %s", n, strings.Join(features, ", "))
		}
	}
	return nil
}

// featureConfigs are the wharf.yml of the two servers: everything off, and
// metrics on their own address, audit on (its default) and one
// notification endpoint, but for those without names.
func featureConfigs(metricsAddr, endpoint string, without []string) (off, on string) {
	off = "audit:\n  enabled: false\nmetrics:\n  enabled: false\n"
	on = fmt.Sprintf("audit:\n  enabled: %t\n", !slices.Contains(without, "audit"))
	if !slices.Contains(without, "metrics") {
		on += fmt.Sprintf("metrics:\n  enabled: true\n  addr: %q\n", metricsAddr)
	}
	if !slices.Contains(without, "notifications") {
		on += fmt.Sprintf("notifications:\n  endpoints:\n    - name: bench\n      url: %q\n", endpoint)
	}
	return off, on
}

// onName is the "on" column's heading.
func onName(without []string) string {
	if len(without) == 0 {
		return "all on"
	}
	return "on, without " + strings.Join(without, " and ")
}

// costRows are the cost table's rows for wl's rows: a goal of at most 5 %
// less throughput with the features on, none on times and memory.
func costRows(wl workload) []Result {
	var out []Result
	for _, r := range wl.allRows() {
		res := Result{Name: r.name, Unit: r.unit, LowerBetter: r.lowerBetter}
		if !r.lowerBetter && strings.HasSuffix(r.unit, "/s") {
			res.Goal = Goal{Ratio: 0.95}
		}
		out = append(out, res)
	}
	return out
}

// runFeatures runs the workloads of all marked cost on a wharf with
// metrics, audit and notifications off and one with them on, o.Rounds
// times, and returns the cost table; with o.ProfileDir, then profiles both
// servers during each (wharf-all-off-…, wharf-all-on-….cpu.pprof).
func runFeatures(ctx context.Context, o Options, wharfBin, dir string, all []workload) (_ []Comparison, err error) {
	var wls []workload
	for _, wl := range all {
		if wl.cost {
			wls = append(wls, wl)
		}
	}
	recv, err := startReceiver()
	if err != nil {
		return nil, err
	}
	defer recv.stop()
	metricsAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	without := o.FeaturesWithout
	offCfg, onCfg := featureConfigs(metricsAddr, recv.url, without)
	var targets []*target
	for _, s := range []struct{ name, config string }{{"wharf-all-off", offCfg}, {"wharf-all-on", onCfg}} {
		path := filepath.Join(dir, s.name+".yml")
		if err := os.WriteFile(path, []byte(s.config), 0o600); err != nil {
			return nil, fmt.Errorf("wharfbench: %w", err)
		}
		srv, err := startWharf(ctx, wharfBin, dir, s.name, o.ProfileDir != "", path)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		targets = append(targets, &target{server: srv, c: newClient(), opts: o, dir: dir, idx: len(targets)})
	}
	scraping := !slices.Contains(without, "metrics")
	notifying := !slices.Contains(without, "notifications")
	var scr *scraper
	if scraping {
		scr = startScraper("http://" + metricsAddr + "/metrics")
		defer scr.stop()
	}
	for _, t := range targets {
		fmt.Fprintf(o.Progress, "set-up on %s\n", t.name)
		if err := setup(ctx, t, needsOf(wls)); err != nil {
			return nil, serverFailed(err, t.server)
		}
	}
	var results []Result
	for _, wl := range wls {
		results = append(results, costRows(wl)...)
	}
	// Both servers do the same work, so their CPU time for it is the
	// features' cost in CPU, which a loaded machine disturbs far less than
	// the timed rows: per workload and server, summed over the rounds
	// (work per second for the workloads that last a time, requests/s).
	cpu := make([][2]cpuUse, len(wls))
	work := make([][2]float64, len(wls))
	for round := range o.Rounds {
		fmt.Fprintf(o.Progress, "metrics, audit and notifications off and on, round %d/%d\n", round+1, o.Rounds)
		for wi, wl := range wls {
			i := slices.IndexFunc(results, func(r Result) bool { return r.Name == wl.rows[0].name })
			before, err := sampleServers(targets)
			if err != nil {
				return nil, err
			}
			vals, err := measureRound(ctx, wl, targets, round, round+wi, results[i:])
			if err != nil {
				return nil, err
			}
			if round == o.Rounds-1 && wi == len(wls)-1 {
				settleReceiver(recv, notifying) // the last events go out
			}
			after, err := sampleServers(targets)
			if err != nil {
				return nil, err
			}
			for k := range targets {
				cpu[wi][k].add(before[k], after[k])
				if wl.rows[0].unit == "requests/s" {
					work[wi][k] += vals[k][0] * o.Duration.Seconds()
				} else {
					work[wi][k]++
				}
			}
			for j := range vals[0] {
				results[i+j].Distr = append(results[i+j].Distr, vals[0][j])
				results[i+j].Wharf = append(results[i+j].Wharf, vals[1][j])
			}
		}
	}
	if o.ProfileDir != "" {
		if err := profileAll(ctx, o, wls, targets); err != nil {
			return nil, err
		}
	}
	// What was on worked: the receiver got events, the scrapes series.
	deadline := time.Now().Add(10 * time.Second)
	for notifying && recv.events.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if recv.bad.Load() > 0 || notifying && recv.events.Load() == 0 || !notifying && recv.posts.Load() > 0 {
		return nil, fmt.Errorf("wharfbench: the notification receiver got %d events in %d requests (%d not an envelope); want events only with notifications on (log %s)",
			recv.events.Load(), recv.posts.Load(), recv.bad.Load(), targets[1].logPath)
	}
	if scraping && scr.ok.Load() == 0 {
		last, _ := scr.lastErr.Load().(string)
		return nil, fmt.Errorf("wharfbench: no scrape of wharf's /metrics succeeded (%d failed; last: %s; log %s)", scr.failed.Load(), last, targets[1].logPath)
	}
	on := onName(without)
	onWhat := "`metrics.enabled: true` on an address of its own, scraped every " + scrapeEvery.String() +
		" (a Prometheus server scrapes every 15 s to 1 min); `audit.enabled: true` (the default; pulls: manifests); one notification endpoint, a receiver in the benchmark that answers 200"
	if len(without) > 0 {
		onWhat += "; but " + strings.Join(without, " and ") + " left off (-features-without)"
	}
	seen := []string{fmt.Sprintf("the receiver got %d events in %d requests", recv.events.Load(), recv.posts.Load())}
	if scraping {
		seen = append(seen, fmt.Sprintf("%d scrapes returned wharf's series", scr.ok.Load()))
	}
	notes := []string{}
	for wi, wl := range wls {
		per := func(k int) float64 { return cpu[wi][k].proc.Seconds() / work[wi][k] }
		unit := "s a round"
		if wl.rows[0].unit == "requests/s" {
			unit = "ms per 1000 requests"
			per = func(k int) float64 { return 1e6 * cpu[wi][k].proc.Seconds() / work[wi][k] }
		}
		notes = append(notes, fmt.Sprintf("Server CPU, %s: %.3g %s %s, %.3g all off (%+.1f %%).", wl.rows[0].name, per(1), unit, on, per(0), 100*(per(1)/per(0)-1)))
	}
	return []Comparison{{Section: featuresSection, Title: "The same workloads with metrics, audit and notifications on and off", A: on, B: "all off", Cost: true,
		Results: results,
		Notes: append(notes,
			"all off: `audit.enabled: false`, no `metrics:`, no `notifications:`. "+on+": "+onWhat+".",
			"In this run "+strings.Join(seen, ", and ")+".",
			"Both are separate servers from the main table's wharf (which runs with the defaults: audit on, metrics and notifications off), with data of their own; they take turns as the main table's servers do. The cost column is how much worse "+on+" is than all off; a few percent is inside the spread of most rows. Server CPU is each server's CPU time during the workload's turns (both servers' turns: the \"on\" server's queued events may go out during the other's), per round or per 1000 requests.",
		)}}, nil
}
