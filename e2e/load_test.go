package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/bcrypt"

	"wharf/e2e/harness"
)

// The load: 200 clients pulling and 20 pushing, every one logged in
// through the token protocol, for WHARF_LOAD_DURATION (default a minute).
const (
	loadPullers       = 200
	loadPullAccounts  = 10 // pullers share these accounts, 20 clients each, as CI runners do
	loadPushers       = 20 // each with an account of its own
	loadDurationVar   = "WHARF_LOAD_DURATION"
	loadDefaultLength = time.Minute
	// Tokens live 5 s. The server accepts a token up to a minute past its
	// exp (the clock skew distribution tolerates too), so a long-lived
	// client first sees the 401 that makes it fetch a new token 65 s after
	// its login: in runs longer than loadRefreshAfter.
	loadTokenLife    = 5 * time.Second
	loadRefreshAfter = loadTokenLife + time.Minute + 15*time.Second
	// loadPeakKiB bounds the server's VmHWM. The server holds, by design: its
	// binary and runtime (about 22 MiB idle); at most 3 MiB of upload buffers
	// per upload moving bytes, and the 20 pushers send 4 blobs at once each
	// (240 MiB if every one were in flight); a few KiB per open connection
	// (280 here); SQLite's page caches (256 KiB per connection). Go's
	// collector lets the heap grow to twice what is live before it collects.
	// 2 × (22 + 240 + 10) MiB is 544 MiB: a server past 640 MiB keeps
	// something per request, per image or per byte that it should not.
	loadPeakKiB = 640 << 10
	// loadGoroutineSlack is how far go_goroutines may stay above its level
	// before the load once every client has closed its connections: a leak
	// of one goroutine per client or per push would be hundreds.
	loadGoroutineSlack = 10
)

// loadDuration is WHARF_LOAD_DURATION, or a minute.
func loadDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv(loadDurationVar)
	if v == "" {
		return loadDefaultLength
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a positive Go duration such as 1m, 90s or 10m", loadDurationVar, v)
	}
	return d
}

// loadImage is an image the pullers pull: a tag and the digest it must
// resolve to.
type loadImage struct {
	ref    name.Reference
	digest v1.Hash
}

// loadConfig is the server's wharf.yml: token auth with 5-second tokens,
// metrics on the main listener, the accounts, and an ACL that gives each
// kind exactly its rights.
func loadConfig(t *testing.T, password string) string {
	t.Helper()
	// bcrypt's minimum cost: the first logins of the 32 accounts all come
	// in the same second, and at cost 10 on a busy 2-core machine some
	// waited longer than limits.password_check_wait for the bcrypt gate
	// (one check per core) and got its 503. That is the gate doing its
	// job, measured by the limits tests; here every later login is
	// answered by the credential cache whatever the cost.
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "auth: token\ntoken:\n  expiration: %s\nmetrics:\n  enabled: true\nusers:\n", loadTokenLife)
	accounts := []string{"seed", "monitor"}
	for i := range loadPullAccounts {
		accounts = append(accounts, fmt.Sprintf("puller%02d", i))
	}
	for i := range loadPushers {
		accounts = append(accounts, fmt.Sprintf("pusher%02d", i))
	}
	for _, a := range accounts {
		fmt.Fprintf(&b, "  %s:\n    password: %q\n", a, h)
	}
	b.WriteString(`acl:
  - match: {account: "/^(seed|pusher[0-9]+)$/", type: repository, name: "/^load\\/.+$/"}
    actions: [pull, push]
  - match: {account: "/^puller[0-9]+$/", type: repository, name: "/^load\\/.+$/"}
    actions: [pull]
  - match: {account: monitor, type: admin, name: metrics}
    actions: [pull]
`)
	return writeConfig(t, t.TempDir(), b.String())
}

// loadClientOpts are the options of one client: its own connections
// (220 clients are 220 processes, not one pool), recorded, its account,
// and no retries, so that every answer of the server is seen as it is.
func loadClientOpts(ctx context.Context, tr *harness.Traffic, client, account, password string, pusher bool) ([]remote.Option, *http.Transport) {
	base := plainHTTP.(*http.Transport).Clone()
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(tr.Transport(client, base, pusher)),
		remote.WithRetryBackoff(remote.Backoff{Duration: 0, Steps: 1}),
		remote.WithAuth(&authn.Basic{Username: account, Password: password}),
	}, base
}

// pullVerified pulls r through p (which keeps its tokens between pulls),
// checks that the manifest's bytes hash to want, and reads every blob it
// names, checking each byte against the blob's digest and size. It
// returns the bytes read.
func pullVerified(ctx context.Context, p *remote.Puller, r name.Reference, want v1.Hash) (int64, error) {
	desc, err := p.Get(ctx, r)
	if err != nil {
		return 0, fmt.Errorf("manifest %s: %w", r, err)
	}
	if got := sha256.Sum256(desc.Manifest); "sha256:"+hex.EncodeToString(got[:]) != want.String() {
		return 0, fmt.Errorf("manifest %s: its bytes hash to sha256:%x, want %s", r, got, want)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return 0, fmt.Errorf("manifest %s: %w", r, err)
	}
	n := int64(len(desc.Manifest))
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		got, err := readBlob(ctx, p, r.Context().Digest(d.Digest.String()))
		if err != nil {
			return n, err
		}
		if got != d.Size {
			return n, fmt.Errorf("blob %s of %s: %d bytes, the manifest says %d", d.Digest, r, got, d.Size)
		}
		n += got
	}
	return n, nil
}

// readBlob reads one blob whole and checks its bytes against its digest.
func readBlob(ctx context.Context, p *remote.Puller, d name.Digest) (int64, error) {
	l, err := p.Layer(ctx, d)
	if err != nil {
		return 0, fmt.Errorf("blob %s: %w", d, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return 0, fmt.Errorf("blob %s: %w", d, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return n, fmt.Errorf("blob %s after %d bytes: %w", d, n, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.DigestStr() {
		return n, fmt.Errorf("blob %s: its %d bytes hash to %s", d, n, got)
	}
	return n, nil
}

// loadLayers are the base layers every image shares, as images built
// FROM the same base do: 512 KiB, 384 KiB and 256 KiB.
func loadLayers(t *testing.T, rng *rand.Rand) []v1.Layer {
	t.Helper()
	var out []v1.Layer
	for _, kib := range []int{512, 384, 256} {
		l, err := randomLayer(rng, kib<<10)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// loadImageOf is an OCI image of two of the shared layers and one of its own.
func loadImageOf(rng *rand.Rand, shared []v1.Layer, n, ownKiB int) (v1.Image, error) {
	own, err := randomLayer(rng, ownKiB<<10)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	return mutate.AppendLayers(img, shared[n%len(shared)], shared[(n+1)%len(shared)], own)
}

// loadFailures keeps the first failures of the clients and counts all.
type loadFailures struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (f *loadFailures) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if len(f.first) < 30 {
		f.first = append(f.first, fmt.Sprintf(format, args...))
	}
}

// goroutines reads go_goroutines from /metrics on the main listener as
// a scraper does: the challenge names the realm and the scope
// (admin:metrics:pull), the monitor account gets a token for it.
func goroutines(t *testing.T, w *harness.Wharf, password string) int {
	t.Helper()
	url := w.URL() + "/metrics"
	status, h, _ := get(t, url, "")
	c := h.Get("WWW-Authenticate")
	if status != http.StatusUnauthorized || challengeParam(c, "scope") != "admin:metrics:pull" {
		t.Fatalf("GET /metrics without a token: %d, challenge %q", status, c)
	}
	tok, _ := tokenFor(t, challengeParam(c, "realm"), challengeParam(c, "service"), "admin:metrics:pull", "monitor", password)
	return int(scrapeMetrics(t, url, "Bearer "+tok).value("go_goroutines"))
}

// TestLoad runs `wharf serve` with token auth under 200 clients pulling
// and 20 pushing for WHARF_LOAD_DURATION (default 1m). Half the pullers
// start over at each pull as `docker pull` does (a ping, a login); the
// other half are long-lived clients: each logs in once per repository,
// keeps its token, and fetches a new one when the server answers 401 to
// an expired one. Each pull verifies every byte against its digest. Pushers push images of
// shared base layers and a layer of their own, a login per push as
// `docker push` does. Nothing may fail: any answer outside 2xx other than
// the protocol's challenges, token refreshes and pushers' existence
// checks is listed with its request id. Afterwards every acknowledged
// push pulls whole, the server's peak RSS is under loadPeakKiB and its
// goroutines are back to their level before the load. Latencies, rates,
// bytes, peak RSS and the load average are printed, never asserted.
func TestLoad(t *testing.T) {
	harness.SkipIfShort(t)
	length := loadDuration(t)
	const password = "the load test's password"
	w := harness.StartWharf(t, "--config", loadConfig(t, password), "--auth", "token")
	defer checkRequestIDs(t, w)
	t.Cleanup(httpClient.CloseIdleConnections)
	ctx := testContext(t, length+10*time.Minute)
	rng := rand.New(rand.NewPCG(19, 2))
	shared := loadLayers(t, rng)
	run := &loadRun{ctx: ctx, addr: w.Addr(), password: password, shared: shared,
		images: seedLoadImages(t, w, ctx, rng, shared, password), traffic: harness.NewTraffic()}

	httpClient.CloseIdleConnections()
	goroutinesBefore := goroutines(t, w, password)
	idleKiB := must[int64](t)(harness.ProcStatusKiB(w.PID(), "VmRSS"))
	loadBefore, _ := harness.LoadAverage()
	cpu := must[time.Duration](t)
	serverCPU, clientsCPU := cpu(harness.ProcCPU(w.PID())), cpu(harness.ProcCPU(os.Getpid()))
	rss := sampleRSS(w.PID())
	start := time.Now()
	run.deadline = start.Add(length)
	var wg sync.WaitGroup
	for i := range loadPullers {
		wg.Go(run.puller(t, i))
	}
	for i := range loadPushers {
		wg.Go(run.pusher(i))
	}
	// While they run: the server's goroutines every 5 s.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	goroutinesPeak := goroutinesBefore
	for tick := time.NewTicker(5 * time.Second); ; {
		select {
		case <-tick.C:
			goroutinesPeak = max(goroutinesPeak, goroutines(t, w, password))
			continue
		case <-done:
			tick.Stop()
		}
		break
	}
	elapsed := time.Since(start)
	peakSampled := rss.Stop()
	serverCPU, clientsCPU = cpu(harness.ProcCPU(w.PID()))-serverCPU, cpu(harness.ProcCPU(os.Getpid()))-clientsCPU
	loadAfter, _ := harness.LoadAverage()
	summary := run.traffic.Summary()

	verifyTraffic := harness.NewTraffic()
	verified := run.verifyAcked(t, verifyTraffic)

	// Every client gone: the server's goroutines go back to their level.
	for _, tr := range run.transports {
		tr.CloseIdleConnections()
	}
	httpClient.CloseIdleConnections()
	goroutinesAfter := goroutines(t, w, password)
	for settle := time.Now().Add(30 * time.Second); goroutinesAfter > goroutinesBefore+loadGoroutineSlack && time.Now().Before(settle); {
		time.Sleep(500 * time.Millisecond)
		httpClient.CloseIdleConnections()
		goroutinesAfter = goroutines(t, w, password)
	}
	hwm := must[int64](t)(harness.ProcStatusKiB(w.PID(), "VmHWM"))

	secs := elapsed.Seconds()
	t.Logf("load: %d pullers (%d accounts; half log in at each pull, half keep their tokens) and %d pushers (one account each), "+
		"token auth, tokens living %s, for %s (the last operations ended %s after it)", loadPullers, loadPullAccounts, loadPushers,
		loadTokenLife, length, (elapsed - length).Round(time.Millisecond))
	t.Logf("done: %d pulls (%.1f/s, %.1f MiB/s verified), %d pushes (%.1f/s), %d requests (%.0f/s); "+
		"%.1f MiB received, %.1f MiB sent; %d challenges, %d token refreshes on 401, %d pushers' HEAD 404s",
		run.pulls.Load(), float64(run.pulls.Load())/secs, float64(run.pulledBytes.Load())/secs/(1<<20),
		run.pushes.Load(), float64(run.pushes.Load())/secs, summary.Requests, float64(summary.Requests)/secs,
		float64(summary.BytesIn)/(1<<20), float64(summary.BytesOut)/(1<<20), summary.Challenges, summary.Refreshes, summary.Probes)
	classes := slices.Sorted(maps.Keys(summary.Latency))
	for _, c := range classes {
		t.Logf("time to response headers, %-14s %s", c+":", summary.Latency[c])
	}
	t.Logf("server: RSS %d KiB idle, %d KiB at most sampled, VmHWM %d KiB (bound %d KiB); goroutines %d before, %d at most sampled, %d after",
		idleKiB, peakSampled, hwm, loadPeakKiB, goroutinesBefore, goroutinesPeak, goroutinesAfter)
	cores := func(d time.Duration) string {
		return fmt.Sprintf("%.1f s of CPU (%.2f cores)", d.Seconds(), d.Seconds()/secs)
	}
	t.Logf("machine: %d cores, load average %.2f before, %.2f after; the server used %s, the clients (this test) %s; "+
		"%d acknowledged pushes verified afterwards", runtime.NumCPU(), loadBefore, loadAfter, cores(serverCPU), cores(clientsCPU), verified)

	unexpected := append(summary.Unexpected, verifyTraffic.Summary().Unexpected...)
	for i, ex := range unexpected {
		if i == 40 {
			t.Errorf("… and %d more answers outside 2xx", len(unexpected)-i)
			break
		}
		t.Errorf("not 2xx: %s", ex)
	}
	if run.failures.n > 0 {
		t.Errorf("%d client operations failed; the first:\n%s", run.failures.n, strings.Join(run.failures.first, "\n"))
	}
	if verified != len(run.acked) || run.pulls.Load() < loadPullers || run.pushes.Load() < loadPushers {
		t.Errorf("%d pulls, %d pushes, %d of %d acknowledged pushes verified: want at least one of each per client and all verified",
			run.pulls.Load(), run.pushes.Load(), verified, len(run.acked))
	}
	if length >= loadRefreshAfter && summary.Refreshes == 0 {
		t.Errorf("no client refreshed its token in %s with tokens living %s", length, loadTokenLife)
	}
	if hwm > loadPeakKiB {
		t.Errorf("server peak RSS (VmHWM) %d KiB > %d KiB", hwm, loadPeakKiB)
	}
	if goroutinesAfter > goroutinesBefore+loadGoroutineSlack {
		t.Errorf("server goroutines: %d before the load, still %d 30 s after every client closed its connections", goroutinesBefore, goroutinesAfter)
	}
	if errs := grepLines(w.Log(), "level=ERROR"); errs != "" {
		t.Errorf("the server logged errors:\n%s", errs)
	}
}

// seedLoadImages pushes what the pullers pull: four repositories, three
// versions each and latest on the third, as the seed account.
func seedLoadImages(t *testing.T, w *harness.Wharf, ctx context.Context, rng *rand.Rand, shared []v1.Layer, password string) []loadImage {
	t.Helper()
	var images []loadImage
	opts, tr := loadClientOpts(ctx, harness.NewTraffic(), "seed", "seed", password, true)
	defer tr.CloseIdleConnections()
	for r := range 4 {
		for v := range 3 {
			img, err := loadImageOf(rng, shared, r+v, 128)
			if err != nil {
				t.Fatal(err)
			}
			dgst := mustDigest(t, img)
			tags := []string{fmt.Sprintf("v%d", v+1)}
			if v == 2 {
				tags = append(tags, "latest")
			}
			for _, tag := range tags {
				r := ref(t, w, fmt.Sprintf("load/app%d:%s", r, tag))
				if err := remote.Write(r, img, opts...); err != nil {
					t.Fatalf("seed push %s: %v", r, err)
				}
				images = append(images, loadImage{ref: r, digest: dgst})
			}
		}
	}
	return images
}

// loadRun is what the clients of one load share.
type loadRun struct {
	ctx      context.Context
	addr     string // the server's host:port
	password string
	shared   []v1.Layer
	images   []loadImage // what the pullers pull
	deadline time.Time   // no operation starts after it
	traffic  *harness.Traffic

	failures    loadFailures
	pulls       atomic.Int64
	pulledBytes atomic.Int64
	pushes      atomic.Int64

	mu         sync.Mutex
	acked      []loadImage       // pushes the server acknowledged
	transports []*http.Transport // every client's, closed at the end
}

// client returns the options of a new client, recorded in traffic.
func (r *loadRun) client(traffic *harness.Traffic, name, account string, pusher bool) []remote.Option {
	opts, tr := loadClientOpts(r.ctx, traffic, name, account, r.password, pusher)
	r.mu.Lock()
	r.transports = append(r.transports, tr)
	r.mu.Unlock()
	return opts
}

// puller is the i-th pulling client: odd ones start over at each pull as
// `docker pull` does (a ping and a login, then the manifest and the
// blobs); even ones keep their tokens between pulls.
func (r *loadRun) puller(t *testing.T, i int) func() {
	client := fmt.Sprintf("puller-%03d", i)
	opts := r.client(r.traffic, client, fmt.Sprintf("puller%02d", i%loadPullAccounts), false)
	p, err := remote.NewPuller(opts...)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(i), 3))
	return func() {
		// At least one pull each, then as many as start before the deadline.
		for ok := true; ok; ok = time.Now().Before(r.deadline) {
			if i%2 == 1 {
				if p, err = remote.NewPuller(opts...); err != nil {
					r.failures.add("%s: %v", client, err)
					return
				}
			}
			img := r.images[rng.IntN(len(r.images))]
			n, err := pullVerified(r.ctx, p, img.ref, img.digest)
			r.pulledBytes.Add(n)
			if err != nil {
				r.failures.add("%s: pull %s: %v", client, img.ref, err)
				continue
			}
			r.pulls.Add(1)
		}
	}
}

// pusher is the i-th pushing client: images of two shared layers and a
// 256 KiB layer of its own, each a new tag of its repository, pushed as
// `docker push` does (a ping, a login, then the blobs and the manifest).
func (r *loadRun) pusher(i int) func() {
	client := fmt.Sprintf("pusher-%02d", i)
	opts := r.client(r.traffic, client, fmt.Sprintf("pusher%02d", i), true)
	rng := rand.New(rand.NewPCG(uint64(i), 4))
	return func() {
		for n := 0; n == 0 || time.Now().Before(r.deadline); n++ {
			img, err := loadImageOf(rng, r.shared, n, 256)
			if err != nil {
				r.failures.add("%s: image: %v", client, err)
				return
			}
			dgst, err := img.Digest()
			if err != nil {
				r.failures.add("%s: image: %v", client, err)
				return
			}
			ref, err := name.ParseReference(fmt.Sprintf("%s/load/%s:t%d", r.addr, client, n), name.Insecure, name.StrictValidation)
			if err != nil {
				r.failures.add("%s: %v", client, err)
				return
			}
			if err := remote.Write(ref, img, opts...); err != nil {
				r.failures.add("%s: push %s: %v", client, ref, err)
				continue
			}
			r.pushes.Add(1)
			r.mu.Lock()
			r.acked = append(r.acked, loadImage{ref: ref, digest: dgst})
			r.mu.Unlock()
		}
	}
}

// verifyAcked pulls every acknowledged push whole, by its tag, checking
// its digest and every byte, from 8 clients at once, and returns how many
// passed; the others are failures.
func (r *loadRun) verifyAcked(t *testing.T, traffic *harness.Traffic) int {
	verifier, err := remote.NewPuller(r.client(traffic, "verify", "puller00", false)...)
	if err != nil {
		t.Fatal(err)
	}
	work := make(chan loadImage)
	var verified atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for img := range work {
				if _, err := pullVerified(r.ctx, verifier, img.ref, img.digest); err != nil {
					r.failures.add("acknowledged push %s@%s after the load: %v", img.ref, img.digest, err)
					continue
				}
				verified.Add(1)
			}
		})
	}
	for _, img := range r.acked {
		work <- img
	}
	close(work)
	wg.Wait()
	return int(verified.Load())
}

// must is a function that returns v, or fails t with err:
// must[int64](t)(harness.ProcStatusKiB(pid, "VmHWM")).
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
