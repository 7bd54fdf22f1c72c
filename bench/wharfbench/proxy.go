package wharfbench

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// The proxy pass measures the pull-through cache: one distribution registry
// is the upstream; wharf with a mirror upstream and distribution in proxy
// mode (proxy.remoteurl) both pull through it. Each round pushes a new
// image to the upstream, so that every cold pull fetches it, then pulls it
// directly from the upstream, cold through each cache, and warm (a second
// time) through each; a pull of an image pushed into the same wharf is what
// a warm pull is compared with. The upstream is reached through a link of
// o.ProxyUpstreamMiBps (default 100 MiB/s, about a gigabit; -1 leaves it
// unthrottled), as a registry on another network would be: on loopback the
// direct pull is a sendfile from the page cache, which no cache that stores
// what it serves can keep up with on the same cores.

const proxySection = "Pull-through cache (proxy)"

// proxyLayers is the number of layers of each round's image, each of
// o.BlobSize bytes.
const proxyLayers = 2

func runProxy(ctx context.Context, o Options, wharfBin, distBin, dir string) (_ []Comparison, err error) {
	fmt.Fprintf(o.Progress, "%s: starting the upstream and both caches\n", proxySection)
	up, err := startDistributionConfig(ctx, distBin, dir, "proxy-upstream", func(addr string) string {
		return filesystemDistributionConfig(filepath.Join(dir, "proxy-upstream-data"), addr)
	})
	if err != nil {
		return nil, err
	}
	defer up.stop()
	rate := o.ProxyUpstreamMiBps
	if rate == 0 {
		rate = 100
	}
	link, stopLink, err := startLink(up.url, rate, filepath.Join(dir, "proxy-link.log"))
	if err != nil {
		return nil, err
	}
	defer stopLink()
	wp, err := startWharfConfig(ctx, wharfBin, dir, "wharf-proxy",
		fmt.Sprintf("proxy:\n  upstreams:\n    - mirror: true\n      url: %s\n", link))
	if err != nil {
		return nil, err
	}
	defer wp.stop()
	dp, err := startDistributionConfig(ctx, distBin, dir, "distribution-proxy", func(addr string) string {
		return filesystemDistributionConfig(filepath.Join(dir, "distribution-proxy-data"), addr) +
			fmt.Sprintf("proxy:\n  remoteurl: %s\n", link)
	})
	if err != nil {
		return nil, err
	}
	defer dp.stop()

	mibs := func(name string) Result { return Result{Name: name, Unit: "MiB/s"} }
	cold := mibs("cold pull: through wharf's cache (A) vs directly from the upstream (B)")
	cold.Goal = Goal{Ratio: 0.9}
	warm := mibs("warm pull: through wharf's cache (A) vs an image pushed into wharf (B)")
	warm.Goal = Goal{Ratio: 0.95}
	coldSide := mibs("cold pull: wharf's cache (A) vs distribution's proxy mode (B)")
	warmSide := mibs("warm pull: wharf's cache (A) vs distribution's proxy mode (B)")
	c := newClient()
	for round := range o.Rounds {
		fmt.Fprintf(o.Progress, "%s: round %d/%d\n", proxySection, round+1, o.Rounds)
		im := proxyImage(o, round, 0)
		repo := fmt.Sprintf("bench/proxy-%d", round)
		if err := pushImage(ctx, c, up.url, repo, "", im, "1"); err != nil {
			return nil, serverFailed(err, up)
		}
		local := proxyImage(o, round, 1)
		if err := pushImage(ctx, c, wp.url, "local/"+repo, "", local, "1"); err != nil {
			return nil, serverFailed(err, wp)
		}
		pull := func(s *server, repo string, im image) (float64, error) {
			base := s.url
			if s == up {
				base = link // the direct pull crosses the same link
			}
			start := time.Now()
			if err := pullImage(ctx, c, base, repo, im, "1"); err != nil {
				return 0, serverFailed(err, s)
			}
			return float64(imageBytes(im)) / mib / time.Since(start).Seconds(), nil
		}
		// Alternate which cache goes first, so neither always finds the
		// upstream's files in the page cache.
		order := []*server{wp, dp}
		if round%2 == 1 {
			order = []*server{dp, wp}
		}
		got := map[string]float64{}
		steps := []struct {
			key  string
			s    *server
			repo string
			im   image
		}{
			{"direct", up, repo, im},
			{"cold-" + order[0].name, order[0], repo, im},
			{"cold-" + order[1].name, order[1], repo, im},
			{"warm-" + order[0].name, order[0], repo, im},
			{"warm-" + order[1].name, order[1], repo, im},
			{"local", wp, "local/" + repo, local},
		}
		for _, st := range steps {
			v, err := pull(st.s, st.repo, st.im)
			if err != nil {
				return nil, err
			}
			got[st.key] = v
		}
		cold.Wharf, cold.Distr = append(cold.Wharf, got["cold-"+wp.name]), append(cold.Distr, got["direct"])
		warm.Wharf, warm.Distr = append(warm.Wharf, got["warm-"+wp.name]), append(warm.Distr, got["local"])
		coldSide.Wharf, coldSide.Distr = append(coldSide.Wharf, got["cold-"+wp.name]), append(coldSide.Distr, got["cold-"+dp.name])
		warmSide.Wharf, warmSide.Distr = append(warmSide.Wharf, got["warm-"+wp.name]), append(warmSide.Distr, got["warm-"+dp.name])
		fmt.Fprintf(o.Progress, "  MiB/s: direct %s, cold wharf %s / distribution %s, warm wharf %s / distribution %s, pushed-into-wharf %s\n",
			num(got["direct"]), num(got["cold-"+wp.name]), num(got["cold-"+dp.name]), num(got["warm-"+wp.name]), num(got["warm-"+dp.name]), num(got["local"]))
	}
	size := fmt.Sprintf("%d layers of %s, upstream link %s", proxyLayers, sizeName(o.BlobSize), linkName(rate))
	return []Comparison{{
		Section: proxySection, Title: "Pull-through cache against the upstream and a local pull",
		A: "A", B: "B", Results: []Result{cold, warm},
		Notes: []string{"Each round's image: " + size + ".",
			"The upstream is distribution on the same machine behind a link of the rate in the title; the direct pull crosses the same link, so it is a cold pull's ceiling: the cache streams each blob to the client while it writes it.",
			"Each round pushes a new image to the upstream: every cold pull fetches it."},
	}, {
		Section: proxySection, Title: "wharf's cache beside distribution's proxy mode on the same upstream",
		A: "wharf", B: "distribution", Results: []Result{coldSide, warmSide},
	}}, nil
}

// proxyImage is round's image: its own config and proxyLayers layers, so
// that it shares no blob with another round's (kind 0: the upstream's,
// 1: the one pushed into wharf).
func proxyImage(o Options, round, kind int) image {
	seed := uint64(9_000_000 + round*10 + kind*5)
	layers := make([][]byte, proxyLayers)
	for i := range layers {
		layers[i] = randomBytes(o.BlobSize, seed+uint64(i))
	}
	return newImageConfig(fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","proxy":"%d-%d"}`, round, kind), layers...)
}

func imageBytes(im image) int64 {
	n := int64(len(im.manifest) + len(im.config))
	for _, l := range im.layers {
		n += int64(len(l))
	}
	return n
}

func linkName(rate int64) string {
	if rate < 0 {
		return "unthrottled"
	}
	return fmt.Sprintf("%d MiB/s", rate)
}

// startLink serves target through a reverse proxy on a free loopback port
// whose answers' bodies flow at mibps MiB/s at most (each body on its own,
// as on a link whose bandwidth one download fills); mibps < 0: unthrottled.
// Its errors go to logPath.
func startLink(target string, mibps int64, logPath string) (string, func(), error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, fmt.Errorf("wharfbench: %w", err)
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return "", nil, fmt.Errorf("wharfbench: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(lf, "", log.LstdFlags)
	if mibps > 0 {
		rp.ModifyResponse = func(res *http.Response) error {
			res.Body = &throttled{r: res.Body, rate: float64(mibps) * mib, start: time.Now()}
			return nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		lf.Close()
		return "", nil, fmt.Errorf("wharfbench: %w", err)
	}
	srv := &http.Server{Handler: rp, ErrorLog: rp.ErrorLog, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close(); lf.Close() }, nil
}

// throttled reads no faster than rate bytes per second since start.
type throttled struct {
	r     io.ReadCloser
	rate  float64
	start time.Time
	n     int64
}

func (t *throttled) Read(p []byte) (int, error) {
	if len(p) > 256<<10 {
		p = p[:256<<10] // small steps keep the flow even
	}
	n, err := t.r.Read(p)
	t.n += int64(n)
	if due := time.Duration(float64(t.n) / t.rate * float64(time.Second)); due > time.Since(t.start) {
		time.Sleep(due - time.Since(t.start))
	}
	return n, err
}

func (t *throttled) Close() error { return t.r.Close() }
