package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/e2e/harness"
)

// The collections of TestCrashSafety: the server's schedule every 250 ms
// and `wharf gc` in a loop, both deleting what was unreferenced for more
// than crashGrace, with the shortest lease a killed collector can leave
// behind. The uploads grace is longer than a slow PATCH under the test's
// load, so that only the uploads the kills abandoned go.
const (
	crashGrace      = 5 * time.Second
	crashLeaseTTL   = 3 * time.Second  // gc.lease_ttl's minimum
	crashDeletes    = 3                // images deleted through the API, and as many untagged with wharf tag rm, per cycle
	crashTakeoverBy = 45 * time.Second // bound on waiting for a killed collector's lease to be taken over
)

var crashGCConfig = fmt.Sprintf("gc:\n  interval: 250ms\n  grace: %s\n  uploads_grace: 15s\n  delete_untagged: true\n  lease_ttl: %s\n",
	crashGrace, crashLeaseTTL)

// gcRun is what `wharf gc --json` prints.
type gcRun struct {
	Started          time.Time `json:"started"`
	ManifestsDeleted int       `json:"manifests_deleted"`
	BlobsDeleted     int       `json:"blobs_deleted"`
	BytesFreed       int64     `json:"bytes_freed"`
	OrphansDeleted   int       `json:"orphans_deleted"`
	UploadsDeleted   int       `json:"uploads_deleted"`
	Error            string    `json:"error"`
}

// leaseHolder is a collection that refused a `wharf gc` run: who holds the
// lease, and until when.
type leaseHolder struct {
	who   string
	pid   int
	until time.Time
}

var heldBy = regexp.MustCompile(`another garbage collection is running \(metadata: gc is held by (.+) \(pid (\d+)\) until (\S+)\)`)

// gcOutcome is how one `wharf gc` process ended.
type gcOutcome struct {
	run    gcRun
	held   *leaseHolder // refused: another collection holds the lease
	killed bool         // the test killed it
	pid    int
}

// gcStats counts the test's collections and deletes.
type gcStats struct {
	started, completed, busy, killed     int // wharf gc processes
	manifests, blobs, orphans, uploads   int // what they deleted
	bytes                                int64
	scheduled, scheduledManifests        int // the servers' scheduled collections
	scheduledBlobs                       int
	scheduledBytes                       int64
	interrupted                          int            // collections a kill cut short
	interruptedBy                        map[string]int // by holder: "wharf gc on …", "wharf serve on …"
	takeoverDelays                       []time.Duration
	idleKills                            int // no collection held the lease at the kill
	apiDeletes, untags, uncertainDeletes int
	refusedPushes                        int
}

func (s *gcStats) add(r gcRun) {
	s.completed++
	s.manifests += r.ManifestsDeleted
	s.blobs += r.BlobsDeleted
	s.orphans += r.OrphansDeleted
	s.uploads += r.UploadsDeleted
	s.bytes += r.BytesFreed
}

// gcLoop runs `wharf gc --delete-untagged` on the server's data directory,
// one process after the other, and kills the one in progress with the
// server.
type gcLoop struct {
	t              *testing.T
	bin, cfg, data string

	mu      sync.Mutex
	stopped bool
	cur     *exec.Cmd
	killed  map[int]bool // pids of the processes killed with SIGKILL (servers too)
	stats   gcStats
}

func newGCLoop(t *testing.T, cfg, data string) *gcLoop {
	return &gcLoop{t: t, bin: harness.WharfBinary(t), cfg: cfg, data: data, killed: map[int]bool{},
		stats: gcStats{interruptedBy: map[string]int{}}}
}

// once runs one collection and says how it ended; it returns an error for
// any other ending (a failed run, an unexpected message). It does not
// start when the loop is stopped (outcome zero, nil error, pid 0).
func (g *gcLoop) once(ctx context.Context) (gcOutcome, error) {
	cmd := exec.CommandContext(ctx, g.bin, "gc", "--json", "--delete-untagged", "--config", g.cfg, "--data", g.data)
	cmd.Env = withoutPrefix(os.Environ(), "WHARF_")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return gcOutcome{}, nil
	}
	if err := cmd.Start(); err != nil {
		g.mu.Unlock()
		return gcOutcome{}, err
	}
	g.cur = cmd
	g.stats.started++
	g.mu.Unlock()

	err := cmd.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur = nil
	out := gcOutcome{pid: cmd.Process.Pid, killed: g.killed[cmd.Process.Pid]}
	switch {
	case out.killed:
		g.stats.killed++
		return out, nil
	case err == nil:
		if jerr := json.Unmarshal(stdout.Bytes(), &out.run); jerr != nil || out.run.Error != "" {
			return out, fmt.Errorf("wharf gc --json printed %q (%v)", stdout.String(), jerr)
		}
		g.stats.add(out.run)
		return out, nil
	}
	m := heldBy.FindStringSubmatch(stderr.String())
	if m == nil || parseHolder(m) == nil {
		return out, fmt.Errorf("wharf gc: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	g.stats.busy++
	out.held = parseHolder(m)
	return out, nil
}

// run collects in a loop until stop or ctx ends, reporting failures.
func (g *gcLoop) run(ctx context.Context, failures chan<- string) {
	for ctx.Err() == nil {
		out, err := g.once(ctx)
		if err != nil {
			select {
			case failures <- err.Error():
			default:
			}
		}
		if out.pid == 0 && err == nil { // stopped
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count changes the statistics under the loop's lock.
func (g *gcLoop) count(f func(*gcStats)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(&g.stats)
}

// start lets the loop start processes again (after a kill).
func (g *gcLoop) start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = false
}

// killServer records that the server of pid is about to be killed.
func (g *gcLoop) killServer(pid int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.killed[pid] = true
}

// kill9 stops the loop and kills the collection in progress, if any.
func (g *gcLoop) kill9() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if g.cur != nil {
		g.killed[g.cur.Process.Pid] = true
		_ = g.cur.Process.Signal(syscall.SIGKILL)
	}
}

// awaitTakeover runs `wharf gc` after a restart until it collects or finds
// the restarted server collecting. When the kill interrupted a collection,
// its lease (orphan, read from the database right after the kill) is still
// held by a killed process: `wharf gc` and the server's schedule are
// refused until it expires, then one of them takes it over, never before.
func (g *gcLoop) awaitTakeover(ctx context.Context, orphan leaseHolder, killedAt time.Time) {
	t := g.t
	t.Helper()
	g.start()
	g.mu.Lock()
	orphaned := orphan.until.After(killedAt) && g.killed[orphan.pid]
	g.mu.Unlock()
	if orphaned {
		t.Logf("the kill interrupted a collection: its lease is held by the killed %s (pid %d) until %s",
			orphan.who, orphan.pid, orphan.until.Format(time.RFC3339Nano))
	}
	deadline := time.Now().Add(crashTakeoverBy)
	for {
		out, err := g.once(ctx)
		if err != nil {
			t.Errorf("wharf gc after the restart: %v", err)
			return
		}
		switch {
		case out.held != nil && out.held.pid == orphan.pid:
			if !orphaned {
				t.Errorf("wharf gc was refused by a lease of killed pid %d, which the database did not show after the kill", orphan.pid)
				return
			}
		case !orphaned:
			return // nobody held the lease at the kill
		default:
			// This run took the lease over, or the restarted server did.
			if out.held == nil && out.run.Started.Before(orphan.until) {
				t.Errorf("the killed collector's lease (until %s) was taken over at %s, before it expired",
					orphan.until.Format(time.RFC3339Nano), out.run.Started.Format(time.RFC3339Nano))
			}
			by := "wharf gc"
			if out.held != nil {
				by = out.held.who + " (restarted)"
			}
			t.Logf("the lease was taken over by %s after it expired, %s after the kill", by, time.Since(killedAt).Round(100*time.Millisecond))
			g.count(func(s *gcStats) {
				s.interrupted++
				s.interruptedBy[orphan.who]++
				s.takeoverDelays = append(s.takeoverDelays, time.Since(killedAt).Round(100*time.Millisecond))
			})
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("the lease of a killed collector was not taken over within %s of the kill (lease_ttl %s)", crashTakeoverBy, crashLeaseTTL)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// parseHolder reads a heldBy match; nil if its expiry is no time.
func parseHolder(m []string) *leaseHolder {
	pid, err1 := strconv.Atoi(m[2])
	until, err2 := time.Parse(time.RFC3339, m[3])
	if err1 != nil || err2 != nil {
		return nil
	}
	return &leaseHolder{who: m[1], pid: pid, until: until}
}

// lease reads the collector's lease from the server's SQLite database
// (the gc_leases row docs/gc.md describes): who holds it, until when. A
// lease nobody holds has no pid.
func lease(t *testing.T, db *sql.DB) leaseHolder {
	t.Helper()
	var (
		holder  string
		expires int64
	)
	err := db.QueryRow("SELECT holder, expires_at FROM gc_leases WHERE name = 'gc'").Scan(&holder, &expires)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("reading the gc lease: %v", err)
	}
	l := leaseHolder{who: holder, until: time.Unix(0, expires)}
	if m := holderPID.FindStringSubmatch(holder); m != nil {
		l.who = m[1]
		l.pid, _ = strconv.Atoi(m[2])
	}
	return l
}

var holderPID = regexp.MustCompile(`^(.+) \(pid (\d+)\)$`)

// awaitCollecting waits, up to within, until a collection holds the lease:
// the kill then lands in a run, not between two. It returns the pid of the
// holder, and whether one did.
func awaitCollecting(t *testing.T, db *sql.DB, within time.Duration) (int, bool) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if l := lease(t, db); l.pid != 0 && l.until.After(time.Now()) {
			return l.pid, true
		}
	}
	return 0, false
}

// openDB opens the server's SQLite database to read the lease.
func openDB(t *testing.T, dataDir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dataDir, "wharf.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// crashImg is an acknowledged image and what became of it.
type crashImg struct {
	pushedImage
	ackedAt time.Time
	own     []string // its config and its layers no other image has
	state   imgState
}

type imgState int

const (
	imgLive      imgState = iota
	imgDeleted            // DELETE of its manifest acknowledged
	imgUntagged           // wharf tag rm acknowledged: GC deletes the manifest
	imgUncertain          // DELETE in flight at the kill
)

// deleteSome deletes, while the pushers push, crashDeletes images through
// the API and untags as many with wharf tag rm, among the live ones
// acknowledged more than crashGrace ago (so that their blobs are garbage
// at once).
func deleteSome(ctx context.Context, t *testing.T, w *harness.Wharf, gcl *gcLoop, imgs []*crashImg, killed func() bool) {
	var old []*crashImg
	for _, im := range imgs {
		if im.state == imgLive && time.Since(im.ackedAt) > crashGrace {
			old = append(old, im)
		}
	}
	var untag []*crashImg
	var args []string
	for i := 0; i < len(old) && len(untag) < crashDeletes; i += 2 {
		untag = append(untag, old[i])
		args = append(args, old[i].repo+":"+old[i].tag)
	}
	if len(args) > 0 {
		cli := wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
		if out, err := cli.try("", append([]string{"tag", "rm", "--config", gcl.cfg}, args...)...); err != nil {
			t.Errorf("wharf tag rm %s: %v\n%s", strings.Join(args, " "), err, out)
		} else {
			for _, im := range untag {
				im.state = imgUntagged
			}
			gcl.count(func(s *gcStats) { s.untags += len(untag) })
		}
	}
	for i, n := 1, 0; i < len(old) && n < crashDeletes; i, n = i+2, n+1 {
		im := old[i]
		err := remote.Delete(ref(t, w, im.repo+"@"+im.digest.String()), remoteOpts(ctx)...)
		switch {
		case err == nil:
			im.state = imgDeleted
			gcl.count(func(s *gcStats) { s.apiDeletes++ })
		case killed():
			im.state = imgUncertain
			gcl.count(func(s *gcStats) { s.uncertainDeletes++ })
			return
		default:
			t.Errorf("delete %s@%s: %v", im.repo, im.digest, err)
		}
	}
}

// checkDeleted checks after a restart that the acknowledged deletes held:
// the tags are gone, and a deleted manifest too. A delete the kill cut
// short is settled: either the image is gone or it is whole and live.
func checkDeleted(t *testing.T, w *harness.Wharf, imgs []*crashImg) {
	t.Helper()
	for _, im := range imgs {
		byDigest := do(t, http.MethodGet, w.URL()+"/v2/"+im.repo+"/manifests/"+im.digest.String(), nil, "Accept", "application/vnd.oci.image.manifest.v1+json")
		switch im.state {
		case imgUncertain:
			im.state = imgLive
			if byDigest.Status == http.StatusNotFound {
				im.state = imgDeleted
			}
		case imgDeleted, imgUntagged:
			if r := do(t, http.MethodGet, w.URL()+"/v2/"+im.repo+"/manifests/"+im.tag, nil); r.Status != http.StatusNotFound {
				t.Errorf("%s:%s was deleted before the kill but its tag answers %v after the restart", im.repo, im.tag, r)
			}
			if im.state == imgDeleted && byDigest.Status != http.StatusNotFound {
				t.Errorf("%s@%s was deleted before the kill but answers %v after the restart", im.repo, im.digest, byDigest)
			}
		}
	}
}

// checkCollected checks, after a collection, that every deleted or
// untagged image (pushed more than crashGrace before it was deleted) is
// gone: its manifest, its config and its own layers.
func checkCollected(t *testing.T, w *harness.Wharf, imgs []*crashImg) (images, blobs int) {
	t.Helper()
	for _, im := range imgs {
		if im.state != imgDeleted && im.state != imgUntagged {
			continue
		}
		images++
		if r := do(t, http.MethodGet, w.URL()+"/v2/"+im.repo+"/manifests/"+im.digest.String(), nil); r.Status != http.StatusNotFound {
			t.Errorf("%s@%s (deleted or untagged) is still there after garbage collection: %v", im.repo, im.digest, r)
		}
		for _, d := range im.own {
			blobs++
			if r := do(t, http.MethodHead, w.URL()+"/v2/"+im.repo+"/blobs/"+d, nil); r.Status != http.StatusNotFound {
				t.Errorf("blob %s of deleted %s@%s is still served after garbage collection: %v", d, im.repo, im.digest, r)
			}
		}
	}
	return images, blobs
}

var gcDoneCounts = regexp.MustCompile(`msg="garbage collection done".* manifests_deleted=(\d+) blobs_deleted=(\d+) bytes_freed=(\d+)`)

// countScheduled adds the scheduled collections one server process logged,
// and reports a failed one.
func (s *gcStats) countScheduled(t *testing.T, log string) {
	t.Helper()
	for _, m := range gcDoneCounts.FindAllStringSubmatch(log, -1) {
		manifests, _ := strconv.Atoi(m[1])
		blobs, _ := strconv.Atoi(m[2])
		bytes, _ := strconv.ParseInt(m[3], 10, 64)
		s.scheduled++
		s.scheduledManifests += manifests
		s.scheduledBlobs += blobs
		s.scheduledBytes += bytes
	}
	if strings.Contains(log, "garbage collection failed") {
		t.Errorf("a scheduled collection failed:\n%s", grepLines(log, "garbage collection failed"))
	}
}

// crashFigures is the test's summary line.
func crashFigures(s *gcStats, kills, acked int) string {
	return fmt.Sprintf("%d kills -9; %d pushes acknowledged, %d refused (BLOB_UNKNOWN after more than %s); "+
		"%d images deleted through the API, %d untagged with wharf tag rm, %d deletes cut short by a kill; "+
		"wharf gc: %d runs started, %d completed, %d refused by the lease, %d killed; "+
		"%d collections interrupted by a kill (%v), each lease taken over after it expired (%v after the kill, lease_ttl %s); "+
		"freed by wharf gc: %d manifests, %d blobs, %d orphan files, %d uploads, %d bytes; "+
		"by %d scheduled collections: %d manifests, %d blobs, %d bytes; %d of %d kills waited for a collection in vain",
		kills, acked, s.refusedPushes, crashGrace, s.apiDeletes, s.untags, s.uncertainDeletes,
		s.started, s.completed, s.busy, s.killed, s.interrupted, s.interruptedBy, s.takeoverDelays, crashLeaseTTL,
		s.manifests, s.blobs, s.orphans, s.uploads, s.bytes, s.scheduled, s.scheduledManifests, s.scheduledBlobs, s.scheduledBytes, s.idleKills, kills)
}
