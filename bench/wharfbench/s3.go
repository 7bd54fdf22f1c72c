package wharfbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// The s3 pass runs the push and pull workloads with blobs on S3: wharf's
// driver against distribution's, both on one versitygw (a real S3 server
// over a directory), pulls redirected to presigned URLs and proxied. A
// probe that talks to the S3 server directly with the AWS SDK measures the
// server's own PUT and GET throughput in the same rounds: the ceiling the
// rows are shares of.

const s3Bucket = "bench"

// s3Server is a running versitygw with its root account.
type s3Server struct {
	proc                 *server
	endpoint             string
	accessKey, secretKey string
	region               string
}

// startVersityGW starts bin/versitygw with its posix backend in dir/s3,
// with the bucket s3Bucket, on a free loopback port, logging to
// dir/versitygw.log.
func startVersityGW(ctx context.Context, root, dir string) (*s3Server, error) {
	bin := filepath.Join(root, "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("wharfbench: the S3 server is not at %s: run `make deps` (scripts/deps.sh)", bin)
	}
	backend := filepath.Join(dir, "s3")
	// A bucket of the posix backend is a directory of its root.
	if err := os.MkdirAll(filepath.Join(backend, s3Bucket), 0o700); err != nil {
		return nil, fmt.Errorf("wharfbench: %w", err)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	g := &s3Server{endpoint: "http://" + addr, accessKey: "bench" + randomHex(4), secretKey: randomHex(16), region: "us-east-1"}
	// Credentials through the environment keep them out of ps.
	env := []string{"ROOT_ACCESS_KEY_ID=" + g.accessKey, "ROOT_SECRET_ACCESS_KEY=" + g.secretKey}
	// Any HTTP answer (an anonymous GET / is refused) means it serves.
	ready := func(res *http.Response) bool { return true }
	g.proc, err = startProcess(ctx, "versitygw", addr, "/", filepath.Join(dir, "versitygw.log"), env, ready,
		bin, "--port", addr, "--region", g.region, "posix", backend)
	if err != nil {
		return nil, err
	}
	return g, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// storageYAML is the storage section keeping blobs under prefix in the
// bucket, indented under storage:; wharf reads distribution's keys, so both
// get the same one.
func (g *s3Server) storageYAML(prefix string, redirect bool) string {
	return fmt.Sprintf(`  s3:
    bucket: %s
    region: %s
    regionendpoint: %q
    forcepathstyle: true
    accesskey: %q
    secretkey: %q
    rootdirectory: %q
  redirect:
    disable: %t
`, s3Bucket, g.region, g.endpoint, g.accessKey, g.secretKey, "/"+prefix, !redirect)
}

// wharfConfig is a wharf.yml keeping blobs under prefix in the bucket.
func (g *s3Server) wharfConfig(prefix string, redirect bool) string {
	return "storage:\n" + g.storageYAML(prefix, redirect)
}

// distributionConfig is the same for distribution's S3 driver, with what
// its filesystem configuration has besides (delete, the in-memory blob
// descriptor cache).
func (g *s3Server) distributionConfig(prefix, addr string, redirect bool) string {
	return fmt.Sprintf(distributionConfig, g.storageYAML(prefix, redirect), addr)
}

// client is an AWS SDK client of the server, as the driver builds one:
// path style, checksums only where S3 requires them; its connections are
// pooled as the registries' clients' are (the SDK's default keeps 10 idle
// per host, fewer than the probe's 16 GETs).
func (g *s3Server) client() *awss3.Client {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second, DisableCompression: true}}
	return awss3.New(awss3.Options{Region: g.region, BaseEndpoint: aws.String(g.endpoint), UsePathStyle: true, HTTPClient: hc,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: g.accessKey, SecretAccessKey: g.secretKey}, nil
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// s3Probe is the S3 server's own throughput on the pass's blob size, in
// MiB/s: PutObject, and GetObject from 1 and from 16 clients.
type s3Probe struct{ put, get1, get16 []float64 }

// measure PUTs a file of size bytes as an object, passes times, and GETs it
// back from 1 and from 16 clients, passes times after an untimed pass (as
// the pull workloads do), straight from the AWS SDK: what a registry in
// front of this server could reach at best.
func (p *s3Probe) measure(ctx context.Context, g *s3Server, dir string, size int64, passes, round int) error {
	c := g.client()
	path, _, err := randomFile(dir, size, uint64(5000+round))
	if err != nil {
		return err
	}
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("wharfbench: %w", err)
	}
	defer f.Close()
	key := func(i int) string { return fmt.Sprintf("probe/%d/%d", round, i) }
	var took time.Duration
	for i := range passes {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("wharfbench: %w", err)
		}
		settleDisk()
		start := time.Now()
		_, err := c.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(key(i)), Body: f, ContentLength: aws.Int64(size)})
		if err != nil {
			return fmt.Errorf("wharfbench: S3 probe: PUT: %w (log %s)", err, g.proc.logPath)
		}
		took += time.Since(start)
	}
	p.put = append(p.put, float64(passes)*float64(size)/mib/took.Seconds())
	pass := func(clients int) error {
		return parallel(ctx, clients, clients, func(ctx context.Context, _ int) error {
			out, err := c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(key(0))})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			// drain reads as the pull workloads do (1 MiB reads):
			// io.Discard's 8 KiB ones would understate the server.
			n, err := drain(out.Body)
			if err == nil && n != size {
				err = fmt.Errorf("GET %s: %d bytes, want %d", key(0), n, size)
			}
			return err
		})
	}
	for _, clients := range []int{1, 16} {
		if err := pass(clients); err != nil {
			return fmt.Errorf("wharfbench: S3 probe: %w (log %s)", err, g.proc.logPath)
		}
		start := time.Now()
		for range passes {
			if err := pass(clients); err != nil {
				return fmt.Errorf("wharfbench: S3 probe: %w (log %s)", err, g.proc.logPath)
			}
		}
		v := float64(passes) * float64(size) * float64(clients) / mib / time.Since(start).Seconds()
		if clients == 1 {
			p.get1 = append(p.get1, v)
		} else {
			p.get16 = append(p.get16, v)
		}
	}
	for i := range passes {
		if _, err := c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s3Bucket), Key: aws.String(key(i))}); err != nil {
			return fmt.Errorf("wharfbench: S3 probe: DELETE: %w", err)
		}
	}
	return nil
}

// pullCount counts a client's blob GETs to the registry and the redirects
// it followed.
type pullCount struct{ gets, followed atomic.Int64 }

// countingTransport counts the GETs of blobs sent to host.
type countingTransport struct {
	bearerTransport
	host  string
	count *pullCount
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Host == c.host && strings.Contains(req.URL.Path, "/blobs/") {
		c.count.gets.Add(1)
	}
	return c.bearerTransport.RoundTrip(req)
}

// redirectClient follows redirects, as docker does, and counts them and
// the blob GETs sent to the registry at base.
func redirectClient(base string, count *pullCount) *http.Client {
	c := newClient()
	c.Transport = countingTransport{bearerTransport: c.Transport.(bearerTransport), host: strings.TrimPrefix(base, "http://"), count: count}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 3 {
			return fmt.Errorf("%d redirects", len(via))
		}
		count.followed.Add(1)
		return nil
	}
	return c
}

// s3Workloads are the pass's rows: the monolithic push and the pulls of
// the main table, against servers keeping blobs on S3 at g. The push
// also reports the CPU time the registry and the S3 server spent per GiB
// pushed: on a small machine versitygw's own CPU bounds the push, so what
// a registry makes it do shows there.
func s3Workloads(o Options, g *s3Server) []workload {
	size := sizeName(o.BlobSize)
	push := fmt.Sprintf("blob push, monolithic POST+PUT, %s, 1 client", size)
	return []workload{
		{rows: append([]row{{name: push, unit: "MiB/s", goal: Goal{Ratio: 1.5}}}, append(cpuRows(push, 1),
			row{name: "S3 server (versitygw) CPU time per GiB during " + push, unit: "core-s", lowerBetter: true})...),
			run: pushS3(o.BlobSize, g), turns: o.Pushes},
		// A push in PATCHes, as docker sends a layer (its one PATCH has
		// no length): the bytes go to S3 as parts while they arrive, and
		// the commit completes the multipart upload and copies it.
		{rows: []row{{name: fmt.Sprintf("blob push, chunked PATCH, %s chunks, %s blob, 1 client", sizeName(o.ChunkSize), sizeName(o.ChunkedSize)), unit: "MiB/s"}},
			run: pushChunkedWorkload},
		{rows: []row{{name: fmt.Sprintf("blob pull GET, %s, 1 client", size), unit: "MiB/s"}},
			run: pullBlob(1, o.Pushes, false), turns: o.Pushes},
		{rows: []row{{name: fmt.Sprintf("blob pull GET, %s, 16 concurrent clients", size), unit: "MiB/s"}},
			run: pullBlob(16, o.Pushes, false)},
	}
}

// pushS3 is pushMonolithic with its registry CPU row, followed by the S3
// server's CPU time per GiB over the same push.
func pushS3(size int64, g *s3Server) func(ctx context.Context, t *target, round int) ([]float64, error) {
	push := pushMonolithic(size, 1)
	return func(ctx context.Context, t *target, round int) ([]float64, error) {
		pid := g.proc.cmd.Process.Pid
		before, err := sampleCPU(pid)
		if err != nil {
			return nil, err
		}
		vals, err := push(ctx, t, round)
		if err != nil {
			return nil, err
		}
		after, err := sampleCPU(pid)
		if err != nil {
			return nil, err
		}
		var used cpuUse
		used.add(before, after)
		return append(vals, used.proc.Seconds()/(float64(size)/(1<<30))), nil
	}
}

// runS3 measures s3Workloads on wharf and distribution, both with
// redirects on and off, on one versitygw, o.Rounds times beside the
// server's own throughput.
func runS3(ctx context.Context, o Options, root, wharfBin, distBin, dir string) (_ []Comparison, err error) {
	g, err := startVersityGW(ctx, root, dir)
	if err != nil {
		return nil, err
	}
	defer g.proc.stop()
	type side struct {
		name     string
		redirect bool
		count    pullCount
		t        *target
	}
	sides := []*side{{name: "wharf-s3-redirect", redirect: true}, {name: "distribution-s3-redirect", redirect: true},
		{name: "wharf-s3-proxy"}, {name: "distribution-s3-proxy"}}
	for i, s := range sides {
		var srv *server
		if i%2 == 0 {
			srv, err = startWharfConfig(ctx, wharfBin, dir, s.name, g.wharfConfig(s.name, s.redirect))
		} else {
			srv, err = startDistributionConfig(ctx, distBin, dir, s.name, func(addr string) string { return g.distributionConfig(s.name, addr, s.redirect) })
		}
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		s.t = &target{server: srv, c: redirectClient(srv.url, &s.count), opts: o, dir: dir, idx: i % 2}
		fmt.Fprintf(o.Progress, "set-up on %s\n", s.name)
		if err := setup(ctx, s.t, needs{pullBlob: true}); err != nil {
			return nil, serverFailed(err, srv)
		}
	}
	wls := s3Workloads(o, g)
	tables := [][]Result{nil, nil}
	// first[wi] is the index of workload wi's first row in a table.
	first := make([]int, len(wls))
	for wi, wl := range wls {
		first[wi] = len(tables[0])
		for k := range tables {
			for _, r := range wl.allRows() {
				tables[k] = append(tables[k], Result{Name: r.name, Unit: r.unit, Goal: r.goal, LowerBetter: r.lowerBetter})
			}
		}
	}
	var probe s3Probe
	for round := range o.Rounds {
		fmt.Fprintf(o.Progress, "S3 storage, round %d/%d\n", round+1, o.Rounds)
		if err := probe.measure(ctx, g, dir, o.BlobSize, o.Pushes, round); err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Progress, "  S3 server alone (MiB/s): PUT %s, GET 1 client %s, 16 clients %s\n",
			num(probe.put[round]), num(probe.get1[round]), num(probe.get16[round]))
		for k, pair := range [][]*side{sides[:2], sides[2:]} {
			for wi, wl := range wls {
				rows := tables[k][first[wi]:]
				vals, err := measureRound(ctx, wl, []*target{pair[0].t, pair[1].t}, round, round+wi, rows)
				if err != nil {
					return nil, err
				}
				for ri := range wl.allRows() {
					rows[ri].Wharf = append(rows[ri].Wharf, vals[0][ri])
					rows[ri].Distr = append(rows[ri].Distr, vals[1][ri])
				}
			}
		}
	}
	// The pulls went where the configuration says: every blob GET of a
	// redirecting server was redirected, none of a proxying one.
	for _, s := range sides {
		gets, followed := s.count.gets.Load(), s.count.followed.Load()
		if gets == 0 || s.redirect && followed != gets || !s.redirect && followed != 0 {
			return nil, fmt.Errorf("wharfbench: %s: %d of %d blob GETs were redirected, want %s (log %s)",
				s.name, followed, gets, map[bool]string{true: "all", false: "none"}[s.redirect], s.t.logPath)
		}
	}
	ceiling := []string{
		fmt.Sprintf("The S3 server alone (versitygw, posix backend on the run's disk; the AWS SDK for Go v2 talking to it directly, in the same rounds): %d PUTs of a %s object %s MiB/s, GETs of it %s MiB/s from 1 client and %s MiB/s from 16 (medians of the rounds; the GETs after an untimed pass, as the pulls).",
			o.Pushes, sizeName(o.BlobSize), num(median(probe.put)), num(median(probe.get1)), num(median(probe.get16))),
	}
	share := func(res Result, limit []float64) string {
		l := median(limit)
		if l <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0f %% / %.0f %%", 100*median(res.Wharf)/l, 100*median(res.Distr)/l)
	}
	// The first row of each workload is a throughput with a ceiling.
	limits := [][]float64{probe.put, probe.put, probe.get1, probe.get16}
	var cs []Comparison
	for k, title := range []string{"Pulls redirected to presigned URLs (the default of both)", "Pulls proxied through the registry (`storage.redirect.disable: true`)"} {
		notes := append([]string{}, ceiling...)
		for wi := range wls {
			res := tables[k][first[wi]]
			notes = append(notes, fmt.Sprintf("%s: share of the S3 server's own %s (wharf / distribution): %s.", res.Name, []string{"PUT", "PUT", "GET from 1 client", "GET from 16 clients"}[wi], share(res, limits[wi])))
		}
		if k == 0 {
			notes = append(notes, fmt.Sprintf("Every blob GET was answered by a redirect to a presigned URL that the client followed to versitygw, as docker does (counted: %d and %d); the pushes are the same with redirects on and off.", sides[0].count.followed.Load(), sides[1].count.followed.Load()))
		} else {
			notes = append(notes, "No pull was redirected (counted): the registry read the object from S3 and sent it on.")
		}
		cs = append(cs, Comparison{Section: s3Section, Title: title, A: "wharf", B: "distribution", Results: tables[k], Notes: notes})
	}
	return cs, nil
}

// startWharfConfig starts a wharf named name with the wharf.yml text
// config, written beside its data.
func startWharfConfig(ctx context.Context, bin, dir, name, config string) (*server, error) {
	path := filepath.Join(dir, name+".yml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("wharfbench: %w", err)
	}
	return startWharf(ctx, bin, dir, name, false, path)
}

// startDistributionConfig starts distribution named name with the
// configuration config returns for its address.
func startDistributionConfig(ctx context.Context, bin, dir, name string, config func(addr string) string) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name+".yml")
	if err := os.WriteFile(path, []byte(config(addr)), 0o600); err != nil {
		return nil, fmt.Errorf("wharfbench: %w", err)
	}
	return startServer(ctx, name, addr, filepath.Join(dir, name+".log"), bin, "serve", path)
}

// startProcess starts a server that is not a registry: ready says whether
// an answer to GET path means it serves. env is added to the environment.
func startProcess(ctx context.Context, name, addr, path, logPath string, env []string, ready func(*http.Response) bool, bin string, args ...string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("wharfbench: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(withoutPrefix(os.Environ(), "REGISTRY_", "WHARF_", "AWS_"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("wharfbench: start %s: %w", name, err)
	}
	s := &server{name: name, url: "http://" + addr, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx, path, ready); err != nil {
		return nil, err
	}
	return s, nil
}
