package ui

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// benchSize is how many repositories (and tags) the benchmarks seed:
// WHARF_UI_BENCH_N, 2000 by default (10000 is the figure, and
// takes minutes to seed).
func benchSize(b *testing.B) int {
	if v, err := strconv.Atoi(os.Getenv("WHARF_UI_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 2000
}

// BenchmarkPages measures the server time of the repository list (as dora,
// who may pull everything, and as alice, who may pull team/* and not
// other/*: her first page asks the ACL about every other/* name, up to
// 10000, before it finds hers), a repository's first and last page of tags
// and a manifest page. It reports the page's bytes.
func BenchmarkPages(b *testing.B) {
	n := benchSize(b)
	e := newEnv(b)
	dgst := e.push("team/big", "t0")
	m, err := e.reg.GetManifest(b.Context(), "team/big", "t0")
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if _, err := e.reg.PutManifest(b.Context(), "team/big", fmt.Sprintf("t%d", i), ocispec.MediaTypeImageManifest, m.Payload, nil); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n / 2 {
		e.push(fmt.Sprintf("other/r%05d", i), "v1")
		e.push(fmt.Sprintf("team/r%05d", i), "v1")
	}
	alice, dora := e.browser(), e.browser()
	alice.signIn("alice", alicePassword)
	dora.signIn("dora", doraPassword)
	for _, pg := range []struct {
		name, path string
		as         *browser
	}{
		{"repositories-all-pullable", "/ui/", dora},
		{"repositories-half-pullable", "/ui/", alice},
		{"tags", "/ui/repos/team/big", alice},
		{"tags-newest-last-page", fmt.Sprintf("/ui/repos/team/big?sort=updated&order=desc&page=%d", n/tagsPage), alice},
		{"manifest", "/ui/manifests/team/big?ref=" + dgst.String(), alice},
	} {
		b.Run(pg.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				p := pg.as.get(pg.path)
				if p.status != http.StatusOK {
					b.Fatalf("%s: %d", pg.path, p.status)
				}
				size = len(p.body)
			}
			b.ReportMetric(float64(size), "page-bytes")
		})
	}
}
