package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"wharf/e2e/harness"
)

// TestProxyUpstreamTokenExpiry: the upstream Wharf issues tokens that live
// 10 s. The mirror asks it for one token for a repository, uses it for the
// manifests and 16 concurrent blob downloads of that repository, and once
// the token is about to expire, 16 concurrent downloads of new blobs share
// exactly one new token and none is refused: the token was replaced before
// the upstream would have refused it. Counted in the upstream's log.
func TestProxyUpstreamTokenExpiry(t *testing.T) {
	harness.SkipIfShort(t)
	const life = 10 * time.Second
	up := startWharf(t, "--auth", "token", "--config", writeConfig(t, t.TempDir(), fmt.Sprintf(authConfig, bcryptHash(t, adminPassword), bcryptHash(t, testPassword))+
		fmt.Sprintf("token:\n  expiration: %d\n", int(life.Seconds()))))
	img1 := pushRandomAsAdmin(t, up.Addr()+"/team/t:1", 32<<10, 16)
	img2 := pushRandomAsAdmin(t, up.Addr()+"/team/t:2", 32<<10, 16)
	counter := startUpstreamCounter(t, up.URL(), 0, 0)
	mirror := startWharf(t, "--config", proxyConfig(t, counter.srv.URL, "5m"), "--auth", "token")

	// The upstream's tokens for team/t's pulls, and its refusals of blob
	// requests there, as its log records them.
	tokens := func() int {
		return strings.Count(up.Log(), `account=test ip=127.0.0.1 requested=repository:team/t:pull`)
	}
	refusals := func() int {
		n := 0
		for _, line := range strings.Split(up.Log(), "\n") {
			if strings.Contains(line, "path=/v2/team/t/blobs/") && strings.Contains(line, "status=401") {
				n++
			}
		}
		return n
	}
	mirrorToken := fetchToken(t, mirror, "puller", "puller-pw-3", "repository:up/team/t:pull")
	blobs := func(img v1.Image) {
		t.Helper()
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(layers))
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				req, err := http.NewRequest(http.MethodGet, mirror.URL()+"/v2/up/team/t/blobs/"+d.String(), nil)
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Authorization", "Bearer "+mirrorToken)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer res.Body.Close()
				b, err := io.ReadAll(res.Body)
				if err == nil && (res.StatusCode != http.StatusOK || sha256Hex(b) != d.Hex) {
					err = fmt.Errorf("blob %s: %d, %d bytes", d, res.StatusCode, len(b))
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}

	start := time.Now()
	for _, tag := range []string{"1", "2"} {
		if res := doAuth(t, http.MethodGet, mirror, "/v2/up/team/t/manifests/"+tag, "puller", "puller-pw-3", "repository:up/team/t:pull"); res.Status != http.StatusOK {
			t.Fatalf("manifest %s through the mirror: %v", tag, res)
		}
	}
	blobs(img1)
	round1 := time.Since(start)
	if n := tokens(); n != 1 {
		t.Errorf("two manifests and 16 concurrent blobs within the token's life asked the upstream for %d tokens; want 1 (round took %v)", n, round1)
	}
	// Past the token's refresh point (a tenth of its life before it
	// expires): the 16 concurrent downloads of new blobs share one new
	// token, and the upstream refuses none.
	time.Sleep(life - time.Since(start))
	blobs(img2)
	if n := tokens(); n != 2 {
		t.Errorf("16 concurrent blob downloads after the token's expiry made the upstream issue %d tokens in all; want 2", n)
	}
	if n := refusals(); n != 0 {
		t.Errorf("the upstream refused %d blob requests with an expired token; want none", n)
	}
	t.Logf("round 1 took %v; upstream tokens %d, refused blob requests %d; upstream requests %v", round1, tokens(), refusals(), counter.counts)
}
