package ui

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/accounts"
	"wharf/internal/metadata"
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
			var (
				size  int
				times []time.Duration
			)
			for b.Loop() {
				start := time.Now()
				p := pg.as.get(pg.path)
				times = append(times, time.Since(start))
				if p.status != http.StatusOK {
					b.Fatalf("%s: %d", pg.path, p.status)
				}
				size = len(p.body)
			}
			b.ReportMetric(float64(size), "page-bytes")
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkAdminPages measures the server time of the administration's
// pages with WHARF_UI_BENCH_N users (each with a token and a session) and
// as many audit records: the users', tokens' and sessions' first pages and
// the users' last (each paged by the database), the rules page with its
// checker, the audit log's first page and the usage page. It reports the
// page's bytes.
func BenchmarkAdminPages(b *testing.B) {
	n := benchSize(b)
	e := newEnv(b)
	ctx := b.Context()
	var recs []metadata.AuditRecord
	for i := range n {
		name := fmt.Sprintf("user%05d", i)
		if err := e.svc.AddUser(ctx, accounts.NewUser{Name: name, Robot: true}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := e.svc.CreateToken(ctx, accounts.NewToken{User: name, Scopes: []string{"repository:*:pull"}}); err != nil {
			b.Fatal(err)
		}
		if err := e.meta.CreateRefreshToken(ctx, "session of "+name, metadata.RefreshToken{Account: name, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		recs = append(recs, metadata.AuditRecord{Time: time.Now(), Action: "push", Actor: name, Repository: "team/app", Outcome: "ok"})
	}
	if err := e.meta.InsertAudit(ctx, recs); err != nil {
		b.Fatal(err)
	}
	root := e.browser()
	root.signIn("root", rootPassword)
	for _, pg := range []struct{ name, path string }{
		{"users", "/ui/admin/users"},
		{"users-last-page", fmt.Sprintf("/ui/admin/users?after=user%05d", n-adminPage/2)},
		{"tokens", "/ui/admin/tokens"},
		{"sessions", "/ui/admin/sessions"},
		{"rules-check", "/ui/admin/rules?account=user00001&scope=repository:team/app:pull,push"},
		{"audit", "/ui/admin/audit?action=push"},
		{"usage", "/ui/admin/usage"},
	} {
		b.Run(pg.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				p := root.get(pg.path)
				if p.status != http.StatusOK {
					b.Fatalf("%s: %d", pg.path, p.status)
				}
				size = len(p.body)
			}
			b.ReportMetric(float64(size), "page-bytes")
		})
	}
}
