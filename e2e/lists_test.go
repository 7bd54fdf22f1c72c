package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"wharf/e2e/harness"
)

// listsPage is the page size of TestClientsFollowLinks's server, far below
// what it holds: 12 tags, 12 repositories and 12 referrers.
const listsPage = 5

// TestClientsFollowLinks lowers the page maximum of every list to 5 and
// checks that real clients still list everything by following the Link
// header: crane (go-containerregistry) and skopeo for tags, crane for the
// catalog, oras-go for referrers, with and without an artifactType filter.
func TestClientsFollowLinks(t *testing.T) {
	harness.SkipIfShort(t)
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf("limits:\n  list_page: %d\n  referrers_page: %d\n", listsPage, listsPage))
	w := startWharf(t, "--config", cfg)
	ctx := testContext(t, 5*time.Minute)
	const repo = "e2e/lists"

	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	var tags, repos []string
	for i := range 12 {
		tags = append(tags, fmt.Sprintf("t%02d", i))
		repos = append(repos, fmt.Sprintf("%s/r%02d", repo, i))
	}
	if err := remote.Write(ref(t, w, repo+":"+tags[0]), img, remoteOpts(ctx)...); err != nil {
		t.Fatalf("push: %v", err)
	}
	for _, tag := range tags[1:] {
		if err := remote.Tag(ref(t, w, repo+":"+tag).(name.Tag), img, remoteOpts(ctx)...); err != nil {
			t.Fatalf("tag %s: %v", tag, err)
		}
	}
	for _, r := range repos[1:] { // e2e/lists sorts before e2e/lists/r01 and counts as the first
		if err := remote.Write(ref(t, w, r+":latest"), img, remoteOpts(ctx)...); err != nil {
			t.Fatalf("push %s: %v", r, err)
		}
	}
	repos[0] = repo
	subject := mustDigest(t, img)
	referrers := pushReferrers(t, w, repo, img, 12)

	// The server pages: a request without n gets the maximum and a Link.
	for _, tc := range []struct{ path, link string }{
		{"/v2/" + repo + "/tags/list", `</v2/e2e/lists/tags/list?n=5&last=t04>; rel="next"`},
		{"/v2/_catalog", `</v2/_catalog?n=5&last=e2e%2Flists%2Fr04>; rel="next"`},
		{"/v2/" + repo + "/referrers/" + subject.String(), fmt.Sprintf(`</v2/e2e/lists/referrers/%s?n=5&last=%s>; rel="next"`,
			subject, strings.Replace(referrers[""][4], ":", "%3A", 1))},
	} {
		if r := do(t, http.MethodGet, w.URL()+tc.path, nil); r.Status != http.StatusOK || r.Header.Get("Link") != tc.link {
			t.Errorf("GET %s: want 200 with Link %s: %v", tc.path, tc.link, r)
		}
	}

	t.Run("crane ls", func(t *testing.T) {
		rec := &recorder{}
		got, err := crane.ListTags(w.Addr()+"/"+repo, crane.Insecure, crane.WithContext(ctx), crane.WithTransport(rec))
		if err != nil {
			t.Fatalf("crane ls: %v", err)
		}
		if !slices.Equal(got, tags) {
			t.Errorf("crane ls listed %q, want %q", got, tags)
		}
		// It asks for n=1000 and gets 5: three pages.
		if n := rec.count("GET /v2/" + repo + "/tags/list"); n != 3 {
			t.Errorf("crane ls made %d tags/list requests, want 3:\n%s", n, strings.Join(rec.seen, "\n"))
		}
	})

	t.Run("crane catalog", func(t *testing.T) {
		rec := &recorder{}
		got, err := crane.Catalog(w.Addr(), crane.Insecure, crane.WithContext(ctx), crane.WithTransport(rec))
		if err != nil {
			t.Fatalf("crane catalog: %v", err)
		}
		if !slices.Equal(got, repos) {
			t.Errorf("crane catalog listed %q, want %q", got, repos)
		}
		if n := rec.count("GET /v2/_catalog"); n != 3 {
			t.Errorf("crane catalog made %d _catalog requests, want 3:\n%s", n, strings.Join(rec.seen, "\n"))
		}
	})

	t.Run("skopeo list-tags", func(t *testing.T) {
		skopeoBin := harness.RequireTool(t, "skopeo")
		tmp := t.TempDir()
		if err := os.WriteFile(filepath.Join(tmp, "auth.json"), []byte(`{"auths":{}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, skopeoBin, "--insecure-policy", "--tmpdir", tmp,
			"list-tags", "--tls-verify=false", "docker://"+w.Addr()+"/"+repo)
		cmd.Env = append(os.Environ(), "REGISTRY_AUTH_FILE="+filepath.Join(tmp, "auth.json"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("skopeo list-tags: %v\n%s", err, out)
		}
		var list struct{ Tags []string }
		if err := json.Unmarshal(out, &list); err != nil {
			t.Fatalf("skopeo list-tags: %v\n%s", err, out)
		}
		if !slices.Equal(list.Tags, tags) {
			t.Errorf("skopeo list-tags listed %q, want %q", list.Tags, tags)
		}
	})

	t.Run("oras referrers", func(t *testing.T) {
		for _, tc := range []struct {
			artifactType string
			pages        int
		}{{"", 3}, {sigType, 2}, {sbomType, 2}} {
			t.Run("artifactType="+tc.artifactType, func(t *testing.T) {
				rec := &recorder{}
				r, err := orasremote.NewRepository(w.Addr() + "/" + repo)
				if err != nil {
					t.Fatal(err)
				}
				r.PlainHTTP = true
				r.Client = &http.Client{Transport: rec}
				var got []string
				var sizes []int
				desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest(subject.String())}
				err = r.Referrers(ctx, desc, tc.artifactType, func(page []ocispec.Descriptor) error {
					sizes = append(sizes, len(page))
					for _, d := range page {
						if tc.artifactType != "" && d.ArtifactType != tc.artifactType {
							return fmt.Errorf("referrer %s of type %s in a list filtered to %s", d.Digest, d.ArtifactType, tc.artifactType)
						}
						got = append(got, d.Digest.String())
					}
					return nil
				})
				if err != nil {
					t.Fatalf("oras referrers: %v", err)
				}
				if !slices.Equal(got, referrers[tc.artifactType]) {
					t.Errorf("oras listed %d referrers %q, want the %d %q", len(got), got, len(referrers[tc.artifactType]), referrers[tc.artifactType])
				}
				if n := rec.count("GET /v2/" + repo + "/referrers/"); n != tc.pages || slices.Max(sizes) > listsPage {
					t.Errorf("oras made %d referrers requests with pages of %v, want %d of at most %d:\n%s",
						n, sizes, tc.pages, listsPage, strings.Join(rec.seen, "\n"))
				}
			})
		}
	})

	// go-containerregistry's remote.Referrers (crane, cosign) reads one
	// page; it gets that page whole. Logged, not asserted: the default
	// maximum (500) is what keeps those clients seeing everything.
	t.Run("go-containerregistry referrers", func(t *testing.T) {
		idx, err := remote.Referrers(ref(t, w, repo+"@"+subject.String()).(name.Digest), remoteOpts(ctx)...)
		if err != nil {
			t.Fatalf("remote.Referrers: %v", err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) != listsPage {
			t.Errorf("remote.Referrers got %d referrers, want the first page of %d", len(m.Manifests), listsPage)
		}
		t.Logf("go-containerregistry's remote.Referrers read %d of %d referrers (it does not follow Link)", len(m.Manifests), len(referrers[""]))
	})
}

// Artifact types of the referrers pushReferrers makes.
const (
	sigType  = "application/vnd.example.signature"
	sbomType = "application/vnd.example.sbom"
)

// pushReferrers pushes n artifacts whose subject is img, alternating two
// artifact types, and returns their digests, sorted, by artifact type ("":
// all of them).
func pushReferrers(t *testing.T, w *harness.Wharf, repo string, img v1.Image, n int) map[string][]string {
	t.Helper()
	ctx := testContext(t, 2*time.Minute)
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	size, err := img.Size()
	if err != nil {
		t.Fatal(err)
	}
	subject := v1.Descriptor{MediaType: mt, Digest: mustDigest(t, img), Size: size}
	out := map[string][]string{}
	for i := range n {
		at := []string{sigType, sbomType}[i%2]
		base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.MediaType(at))
		// Annotations first: mutate.Annotations drops a subject set before.
		withAnn, ok := mutate.Annotations(base, map[string]string{"e2e.index": fmt.Sprint(i)}).(v1.Image)
		if !ok {
			t.Fatal("mutate.Annotations of an image is not an image")
		}
		art, ok := mutate.Subject(withAnn, subject).(v1.Image)
		if !ok {
			t.Fatal("mutate.Subject of an image is not an image")
		}
		d := mustDigest(t, art)
		if err := remote.Write(ref(t, w, repo+"@"+d.String()), art, remoteOpts(ctx)...); err != nil {
			t.Fatalf("push referrer %d: %v", i, err)
		}
		out[at] = append(out[at], d.String())
		out[""] = append(out[""], d.String())
	}
	for _, ds := range out {
		slices.Sort(ds)
	}
	return out
}

// count is how many requests began with prefix ("METHOD /path").
func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.seen {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}
