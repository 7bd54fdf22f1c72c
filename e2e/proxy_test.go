package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"wharf/e2e/harness"
)

// TestProxyPullThrough pulls an image through a proxy prefix whose
// upstream is another Wharf with token auth, and counts what reaches the
// upstream: manifests by digest and blobs once, tags revalidated by a HEAD
// only after the TTL; then the upstream answers 429, then is stopped, and
// the cached image still pulls, with a Warning.
func TestProxyPullThrough(t *testing.T) {
	harness.SkipIfShort(t)
	const ttl = 3 * time.Second
	up, counter, img, mirror := proxySetup(t, "app", 512<<10, 3, ttl.String(), 0, 0)
	want, _ := img.Digest()
	ref := mirror.Addr() + "/up/team/app:1"

	// First pull: the manifest and the three layers and config come from
	// the upstream, once each.
	got, _ := pullValidate(t, ref, proxyPuller).Digest()
	if got != want {
		t.Fatalf("pulled %s through the proxy, the upstream has %s", got, want)
	}
	first := map[string]int{"GET manifests": counter.count("GET manifests"), "GET blobs": counter.count("GET blobs")}
	if first["GET manifests"] != 1 || first["GET blobs"] != 4 {
		t.Fatalf("first pull asked the upstream %v; want one manifest GET and 4 blob GETs (config and 3 layers)", counter.counts)
	}

	// Second pull within the TTL, by tag and by digest: nothing upstream.
	pullValidate(t, ref, proxyPuller)
	pullValidate(t, mirror.Addr()+"/up/team/app@"+want.String(), proxyPuller)
	if n := counter.count("GET manifests") + counter.count("HEAD manifests") + counter.count("GET blobs"); n != 5 {
		t.Errorf("pulls within the TTL reached the upstream: %v", counter.counts)
	}

	// After the TTL: one HEAD of the tag, no GET.
	time.Sleep(ttl + 500*time.Millisecond)
	pullValidate(t, ref, proxyPuller)
	if counter.count("HEAD manifests") != 1 || counter.count("GET manifests") != 1 || counter.count("GET blobs") != 4 {
		t.Errorf("a pull after the TTL asked the upstream %v; want one HEAD more and no GET", counter.counts)
	}

	// The tag moves upstream: the next revalidation fetches the new image.
	img2 := pushRandomAsAdmin(t, up.Addr()+"/team/app:1", 256<<10, 1)
	want2, _ := img2.Digest()
	time.Sleep(ttl + 500*time.Millisecond)
	if got, _ := pullValidate(t, ref, proxyPuller).Digest(); got != want2 {
		t.Errorf("after the tag moved upstream the proxy served %s, want %s", got, want2)
	}

	// The upstream rate-limits: the cached tag is served, with a Warning.
	time.Sleep(ttl + 500*time.Millisecond)
	counter.status.Store(http.StatusTooManyRequests)
	res := doAuth(t, http.MethodGet, mirror, "/v2/up/team/app/manifests/1", "puller", "puller-pw-3", "repository:up/team/app:pull")
	if res.Status != http.StatusOK || !strings.Contains(res.Header.Get("Warning"), "429") {
		t.Errorf("manifest while the upstream answers 429: want 200 with a Warning naming 429: %v", res)
	}
	// Within the stale window the failing upstream is not asked again.
	heads := counter.count("HEAD manifests")
	pullValidate(t, ref, proxyPuller)
	if n := counter.count("HEAD manifests"); n != heads {
		t.Errorf("a pull right after a stale answer asked the failing upstream again (%d HEADs, %d before)", n, heads)
	}
	// A tag never cached: the upstream's answer, named.
	res = doAuth(t, http.MethodGet, mirror, "/v2/up/team/app/manifests/never", "puller", "puller-pw-3", "repository:up/team/app:pull")
	if res.Status != http.StatusTooManyRequests || !strings.Contains(string(res.Body), counter.srv.Listener.Addr().String()) {
		t.Errorf("uncached tag while the upstream answers 429: want 429 naming the upstream: %v", res)
	}
	counter.status.Store(0)

	// The upstream stops, and the address the mirror knows refuses
	// connections: every cached reference still pulls.
	up.Stop()
	counter.srv.Close()
	time.Sleep(ttl + 500*time.Millisecond)
	pullValidate(t, ref, proxyPuller)
	pullValidate(t, mirror.Addr()+"/up/team/app@"+want.String(), proxyPuller)
	res = doAuth(t, http.MethodGet, mirror, "/v2/up/team/app/manifests/1", "puller", "puller-pw-3", "repository:up/team/app:pull")
	if res.Status != http.StatusOK || res.Header.Get("Warning") == "" {
		t.Errorf("manifest with the upstream stopped: want 200 with a Warning: %v", res)
	}
	res = doAuth(t, http.MethodGet, mirror, "/v2/up/team/app/manifests/never", "puller", "puller-pw-3", "repository:up/team/app:pull")
	if res.Status != http.StatusServiceUnavailable || !strings.Contains(string(res.Body), "cannot be reached") {
		t.Errorf("uncached tag with the upstream stopped: want 503 UNAVAILABLE saying it cannot be reached: %v", res)
	}
	if !strings.Contains(mirror.Log(), "serving the cached manifest") {
		t.Error("no log line for a stale answer")
	}
	m := scrapeMetrics(t, mirror.URL()+"/metrics", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:"+adminPassword)))
	if n := m.value("wharf_proxy_stale_total"); n < 3 {
		t.Errorf("wharf_proxy_stale_total = %v; want at least the 3 stale answers above", n)
	}
	// The last manifest GET went to the closed address: sent, never seen.
	if m.value("wharf_proxy_manifest_fetches_total") != float64(counter.count("GET manifests")+1) || m.value("wharf_proxy_blob_fetches_total") != 6 {
		t.Errorf("fetch counters: manifests %v blobs %v; the upstream saw %v", m.value("wharf_proxy_manifest_fetches_total"), m.value("wharf_proxy_blob_fetches_total"), counter.counts)
	}
	if m.value("wharf_proxy_ratelimit_limit", "upstream", "up") != 100 || m.value("wharf_proxy_ratelimit_remaining", "upstream", "up") != 98 {
		t.Errorf("rate limit: %v of %v; want 98 of 100 (two manifests fetched before the upstream failed)",
			m.value("wharf_proxy_ratelimit_remaining", "upstream", "up"), m.value("wharf_proxy_ratelimit_limit", "upstream", "up"))
	}
	t.Logf("upstream requests: %v", counter.counts)
}

// TestProxyConcurrentBlob pulls one large blob through the proxy from 16
// clients at once while the upstream sends it slowly: one upstream GET,
// and every client gets every byte.
func TestProxyConcurrentBlob(t *testing.T) {
	harness.SkipIfShort(t)
	// The upstream sends about 30 MiB/s.
	up, counter, img, mirror := proxySetup(t, "big", 32<<20, 1, "5m", 64<<10, 2*time.Millisecond)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	dgst, _ := layers[0].Digest()

	tok := fetchToken(t, mirror, "puller", "puller-pw-3", "repository:up/team/big:pull")
	const clients = 16
	var wg sync.WaitGroup
	errs := make([]error, clients)
	for i := range clients {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, mirror.URL()+"/v2/up/team/big/blobs/"+dgst.String(), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := httpClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer res.Body.Close()
			h := sha256.New()
			n, err := io.Copy(h, res.Body)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("after %d bytes: %w", n, err)
			case res.StatusCode != http.StatusOK:
				errs[i] = fmt.Errorf("status %d", res.StatusCode)
			case "sha256:"+hex.EncodeToString(h.Sum(nil)) != dgst.String():
				errs[i] = fmt.Errorf("%d bytes that do not hash to %s", n, dgst)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("client %d: %v", i, err)
		}
	}
	if n := counter.count("GET blobs"); n != 1 {
		t.Errorf("%d clients pulling one blob sent %d GETs upstream; want 1", clients, n)
	}
	// Served from the cache now, with the upstream gone.
	up.Stop()
	counter.srv.Close()
	res := do(t, http.MethodGet, mirror.URL()+"/v2/up/team/big/blobs/"+dgst.String(), nil, "Authorization", "Bearer "+tok)
	if res.Status != http.StatusOK || "sha256:"+sha256Hex(res.Body) != dgst.String() {
		t.Errorf("cached blob with the upstream gone: %d, %d bytes", res.Status, len(res.Body))
	}
	t.Logf("upstream requests: %v", counter.counts)
}

// TestProxyRefusesPushes checks that a proxy repository takes no push,
// whatever the ACL grants, naming its upstream, while a repository
// outside the prefix stays pushable and a pull-only user pulls through.
func TestProxyRefusesPushes(t *testing.T) {
	harness.SkipIfShort(t)
	up := startTokenWharf(t)
	pushRandomAsAdmin(t, up.Addr()+"/team/app:1", 1024, 1)
	mirror := startWharf(t, "--config", proxyConfig(t, up.URL(), "5m"), "--auth", "token")

	pullValidate(t, mirror.Addr()+"/up/team/app:1", proxyPuller)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []struct {
		name string
		opt  remote.Option
	}{{"admin", proxyAdmin}, {"puller", proxyPuller}} {
		r, _ := name.ParseReference(mirror.Addr()+"/up/team/app:mine", name.Insecure)
		err := remote.Write(r, img, who.opt)
		if err == nil {
			t.Fatalf("%s pushed into a proxy repository", who.name)
		}
		if !strings.Contains(err.Error(), "DENIED") || !strings.Contains(err.Error(), up.Addr()) {
			t.Errorf("push by %s into a proxy repository: want DENIED naming %s, got %v", who.name, up.Addr(), err)
		}
	}
	pushRandomAsAdmin(t, mirror.Addr()+"/local/app:1", 1024, 1)
	pullValidate(t, mirror.Addr()+"/local/app:1", proxyPuller)
	// An anonymous client gets the challenge, not the cache.
	res := do(t, http.MethodGet, mirror.URL()+"/v2/up/team/app/manifests/1", nil)
	if res.Status != http.StatusUnauthorized {
		t.Errorf("anonymous pull of a proxy repository: %v; want 401", res)
	}
}

// TestProxyDockerMirror pulls with the real docker daemon through a Wharf
// that is its registry-mirrors endpoint (names without a prefix, as the
// daemon asks for Docker Hub's), and through a prefix (docker pull
// HOST/hub/…), the upstream being another Wharf with token auth.
func TestProxyDockerMirror(t *testing.T) {
	harness.SkipIfShort(t)
	up, counter, mirror, want := startBusyboxMirror(t)
	d := harness.StartDockerd(t, "--registry-mirror=http://"+mirror.Addr())

	out := d.Run("pull", "busybox:latest")
	if !strings.Contains(out, want.String()) {
		t.Errorf("docker pull busybox through the mirror: want digest %s:\n%s", want, out)
	}
	if !strings.Contains(mirror.Log(), "path=/v2/library/busybox/manifests/latest") {
		t.Errorf("the daemon did not ask the mirror for library/busybox:\n%s", mirror.Log())
	}
	out = d.Run("pull", mirror.Addr()+"/hub/library/busybox:latest")
	if !strings.Contains(out, want.String()) {
		t.Errorf("docker pull HOST/hub/library/busybox: want digest %s:\n%s", want, out)
	}
	// Next to the mirror a pushed repository is local: the daemon pushes
	// myteam/app and pulls it back without the upstream being asked, while
	// a push into the cached library/busybox is refused.
	local := mirror.Addr() + "/myteam/app:1"
	d.Run("tag", "busybox:latest", local)
	pushed := regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`).FindStringSubmatch(d.Run("push", local))
	if pushed == nil {
		t.Fatalf("docker push %s printed no digest", local)
	}
	d.Run("rmi", local)
	if out := d.Run("pull", local); !strings.Contains(out, pushed[1]) {
		t.Errorf("docker pull of the pushed %s: want digest %s:\n%s", local, pushed[1], out)
	}
	if counter.askedFor("myteam/app") {
		t.Error("the mirror asked the upstream for the local myteam/app")
	}
	d.Run("tag", "busybox:latest", mirror.Addr()+"/library/busybox:mine")
	if out, err := d.TryRun(nil, "push", mirror.Addr()+"/library/busybox:mine"); err == nil || !strings.Contains(out, "denied") {
		t.Errorf("docker push into the cached library/busybox: %v; want denied:\n%s", err, out)
	}
	// The upstream rate-limits, then is gone; the daemon's own copy
	// removed each time, past the TTL: the cache serves.
	for _, outage := range []string{"answering 429", "stopped"} {
		if outage == "stopped" {
			up.Stop()
			counter.srv.Close()
		} else {
			counter.status.Store(http.StatusTooManyRequests)
		}
		time.Sleep(1500 * time.Millisecond)
		d.Run("rmi", "busybox:latest", mirror.Addr()+"/hub/library/busybox:latest")
		for _, ref := range []string{mirror.Addr() + "/hub/library/busybox:latest", "busybox:latest"} {
			out = d.Run("pull", ref)
			if !strings.Contains(out, want.String()) {
				t.Errorf("docker pull %s of the cached image with the upstream %s: want digest %s:\n%s", ref, outage, want, out)
			}
		}
	}
	if !strings.Contains(mirror.Log(), "429") {
		t.Error("the mirror's log does not mention the upstream's 429")
	}
}

// TestProxyDistributionUpstream pulls through a prefix whose upstream is
// the real distribution registry with token auth (tokens from wharf auth),
// then with that registry stopped.
func TestProxyDistributionUpstream(t *testing.T) {
	harness.SkipIfShort(t)
	// The realm is named, not an address: go-containerregistry, in the
	// test's pushes and in Wharf's upstream client, refuses to send
	// credentials to a private IP literal other than the registry's own.
	dist, _ := distributionBehindWharfAuth(t, "localhost")
	img := pushRandomAsAdmin(t, dist.Addr+"/team/app:1", 256<<10, 2)
	want, _ := img.Digest()

	counter := startUpstreamCounter(t, "http://"+dist.Addr, 0, 0)
	mirror := startWharf(t, "--config", proxyConfig(t, counter.srv.URL, "5m"), "--auth", "token")
	ref := mirror.Addr() + "/up/team/app:1"
	if got, _ := pullValidate(t, ref, proxyPuller).Digest(); got != want {
		t.Fatalf("pulled %s through the proxy, distribution has %s", got, want)
	}
	pullValidate(t, ref, proxyPuller)
	if counter.count("GET manifests") != 1 || counter.count("GET blobs") != 3 {
		t.Errorf("two pulls asked distribution %v; want one manifest GET and 3 blob GETs", counter.counts)
	}

	// A multi-platform index: its child manifests are fetched by digest
	// as the client asks for them.
	idx, err := random.Index(64<<10, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	ir, _ := name.ParseReference(dist.Addr+"/team/multi:1", name.Insecure)
	if err := remote.WriteIndex(ir, idx, proxyAdmin); err != nil {
		t.Fatal(err)
	}
	pullIndex := func() {
		t.Helper()
		r, _ := name.ParseReference(mirror.Addr()+"/up/team/multi:1", name.Insecure)
		got, err := remote.Index(r, proxyPuller)
		if err != nil {
			t.Fatalf("pull the index through the proxy: %v", err)
		}
		if err := validate.Index(got); err != nil {
			t.Fatalf("the index through the proxy: %v", err)
		}
	}
	pullIndex()

	dist.Stop()
	counter.srv.Close()
	pullValidate(t, mirror.Addr()+"/up/team/app@"+want.String(), proxyPuller)
	pullIndex()
}

// TestProxyDigestMismatch has the upstream serve a blob whose bytes do not
// hash to its digest: the client gets a short body, nothing is stored, and
// once the upstream serves the right bytes the next pull fetches them.
func TestProxyDigestMismatch(t *testing.T) {
	harness.SkipIfShort(t)
	_, counter, img, mirror := proxySetup(t, "app", 1<<20, 1, "5m", 0, 0)
	layers, _ := img.Layers()
	dgst, _ := layers[0].Digest()
	tok := fetchToken(t, mirror, "puller", "puller-pw-3", "repository:up/team/app:pull")
	blobURL := mirror.URL() + "/v2/up/team/app/blobs/" + dgst.String()

	counter.corrupt.Store(true)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, blobURL, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := httpClient.Do(req)
	if err == nil {
		body, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if rerr == nil && "sha256:"+sha256Hex(body) != dgst.String() && int64(len(body)) == res.ContentLength {
			t.Fatalf("the client received a whole blob that is not %s", dgst)
		}
		if rerr == nil && "sha256:"+sha256Hex(body) == dgst.String() {
			t.Fatal("a corrupted upstream blob arrived intact: the test corrupts nothing")
		}
		t.Logf("corrupted blob: status %d, %d of %d bytes, read error %v", res.StatusCode, len(body), res.ContentLength, rerr)
	}
	if !strings.Contains(mirror.Log(), "nothing was stored") {
		t.Error("no log line for the failed download")
	}
	counter.corrupt.Store(false)
	res2 := do(t, http.MethodGet, blobURL, nil, "Authorization", "Bearer "+tok)
	if res2.Status != http.StatusOK || "sha256:"+sha256Hex(res2.Body) != dgst.String() {
		t.Errorf("pull after the upstream recovered: %d, %d bytes", res2.Status, len(res2.Body))
	}
	if n := counter.count("GET blobs"); n != 2 {
		t.Errorf("upstream blob GETs = %d; want 2 (the corrupted download was not kept)", n)
	}
}

// TestProxyPullFigures prints how long a 64 MiB image takes to pull
// straight from the upstream, cold through the proxy (streamed while it is
// cached) and warm from the proxy. It asserts the bytes, never the times.
func TestProxyPullFigures(t *testing.T) {
	harness.SkipIfShort(t)
	up := startTokenWharf(t)
	img := pushRandomAsAdmin(t, up.Addr()+"/team/big:1", 16<<20, 4)
	want, _ := img.Digest()
	mirror := startWharf(t, "--config", proxyConfig(t, up.URL(), "5m"), "--auth", "token")
	upstreamPuller := remote.WithAuth(&authn.Basic{Username: "test", Password: testPassword})
	timed := func(ref string, opt remote.Option) time.Duration {
		start := time.Now()
		if got, _ := pullValidate(t, ref, opt).Digest(); got != want {
			t.Fatalf("pulled %s from %s, want %s", got, ref, want)
		}
		return time.Since(start)
	}
	direct := timed(up.Addr()+"/team/big:1", upstreamPuller)
	cold := timed(mirror.Addr()+"/up/team/big:1", proxyPuller)
	warm := timed(mirror.Addr()+"/up/team/big:1", proxyPuller)
	again := timed(up.Addr()+"/team/big:1", upstreamPuller)
	load, _ := harness.LoadAverage()
	t.Logf("64 MiB image (4 layers): direct %v, %v; cold through the proxy %v; warm from the proxy %v (load average %.2f)",
		direct.Round(time.Millisecond), again.Round(time.Millisecond), cold.Round(time.Millisecond), warm.Round(time.Millisecond), load)
}

// TestProxyFromDistributionConfig runs `wharf registry` on a registry:2
// pull-through cache's config.yml (proxy.remoteurl, username, password,
// ttl) and pulls through it from a Wharf with token auth; the
// REGISTRY_PROXY_* variables say the same.
func TestProxyFromDistributionConfig(t *testing.T) {
	harness.SkipIfShort(t)
	up := startTokenWharf(t)
	img := pushRandomAsAdmin(t, up.Addr()+"/library/app:1", 64<<10, 2)
	want, _ := img.Digest()
	dir := t.TempDir()
	cfg := writeTestFile(t, dir, "config.yml", `version: 0.1
storage:
  filesystem:
    rootdirectory: `+filepath.Join(dir, "data")+`
http:
  addr: 127.0.0.1:0
proxy:
  remoteurl: `+up.URL()+`
  username: test
  password: `+testPassword+`
  ttl: 1h
`, 0o600)
	reg := harness.StartWharfCommand(t, nil, "registry", "--config", cfg)
	anonymous := remote.WithAuth(authn.Anonymous)
	if got, _ := pullValidate(t, reg.Addr()+"/library/app:1", anonymous).Digest(); got != want {
		t.Errorf("pulled %s through wharf registry's proxy, want %s", got, want)
	}
	if strings.Contains(reg.Log(), testPassword) {
		t.Error("the upstream's password is in the log")
	}
	r, _ := name.ParseReference(reg.Addr()+"/library/app:2", name.Insecure)
	if err := remote.Write(r, img, anonymous); err == nil || !strings.Contains(err.Error(), "pull-through cache") {
		t.Errorf("a push into the cached library/app: %v; want DENIED as registry:2 in proxy mode", err)
	}
	// Unlike registry:2 in proxy mode, other repositories take pushes.
	mine, err := random.Image(8<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	mr, _ := name.ParseReference(reg.Addr()+"/myteam/app:1", name.Insecure)
	if err := remote.Write(mr, mine, anonymous); err != nil {
		t.Fatalf("push myteam/app next to the mirror: %v", err)
	}
	mineDigest, _ := mine.Digest()
	if got, _ := pullValidate(t, reg.Addr()+"/myteam/app:1", anonymous).Digest(); got != mineDigest {
		t.Errorf("pulled %s from the pushed myteam/app, want %s", got, mineDigest)
	}

	env := []string{"REGISTRY_PROXY_REMOTEURL=" + up.URL(), "REGISTRY_PROXY_USERNAME=test", "REGISTRY_PROXY_PASSWORD=" + testPassword,
		"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=" + filepath.Join(t.TempDir(), "data"), "REGISTRY_HTTP_ADDR=127.0.0.1:0"}
	byEnv := harness.StartWharfCommand(t, env, "registry")
	pullValidate(t, byEnv.Addr()+"/library/app@"+want.String(), anonymous)
}

// TestProxySlowUpstream has the upstream stop answering in time: a cached
// tag is served stale once the upstream's timeout passes, and an uncached
// one is UNAVAILABLE naming the upstream.
func TestProxySlowUpstream(t *testing.T) {
	harness.SkipIfShort(t)
	up := startTokenWharf(t)
	counter := startUpstreamCounter(t, up.URL(), 0, 0)
	img := pushRandomAsAdmin(t, up.Addr()+"/team/app:1", 64<<10, 1)
	want, _ := img.Digest()
	mirror := startWharf(t, "--config", proxyConfig(t, counter.srv.URL, "1s", "      timeout: 2s\n"), "--auth", "token")
	pullValidate(t, mirror.Addr()+"/up/team/app:1", proxyPuller)

	counter.delay.Store(int64(time.Minute))
	time.Sleep(1500 * time.Millisecond) // past the TTL
	res := doAuth(t, http.MethodGet, mirror, "/v2/up/team/app/manifests/1", "puller", "puller-pw-3", "repository:up/team/app:pull")
	if res.Status != http.StatusOK || res.Header.Get("Docker-Content-Digest") != want.String() || !strings.Contains(res.Header.Get("Warning"), "stale") {
		t.Errorf("cached tag with the upstream timing out: want 200, %s and a Warning: %v", want, res)
	}
	res = doAuth(t, http.MethodGet, mirror, "/v2/up/team/app/manifests/never", "puller", "puller-pw-3", "repository:up/team/app:pull")
	if res.Status != http.StatusServiceUnavailable || !strings.Contains(string(res.Body), counter.srv.Listener.Addr().String()) {
		t.Errorf("uncached tag with the upstream timing out: want 503 naming the upstream: %v", res)
	}
}
