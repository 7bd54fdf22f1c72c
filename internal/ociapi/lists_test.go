package ociapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/ociapi"
	"wharf/internal/registry"
)

var linkRe = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// listPage is one answer of a list endpoint, decoded.
type listPage struct {
	status  int
	code    string
	link    string
	entries []string // tags, repositories or referrer digests
	size    int      // body bytes
	filters string   // OCI-Filters-Applied
}

func getList(t *testing.T, rawURL string) listPage {
	t.Helper()
	r := do(t, "GET", rawURL, nil)
	p := listPage{status: r.status, code: r.code(), link: r.header.Get("Link"), size: len(r.body), filters: r.header.Get("OCI-Filters-Applied")}
	if r.status != http.StatusOK {
		return p
	}
	var body struct {
		Tags         []string `json:"tags"`
		Repositories []string `json:"repositories"`
		Manifests    []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("GET %s: %v: %s", rawURL, err, r.body)
	}
	p.entries = append(append(p.entries, body.Tags...), body.Repositories...)
	for _, m := range body.Manifests {
		p.entries = append(p.entries, m.Digest)
	}
	return p
}

// walkList follows Link from path and returns every page.
func walkList(t *testing.T, base, path string) []listPage {
	t.Helper()
	var pages []listPage
	for path != "" {
		if len(pages) == 50 {
			t.Fatalf("more than 50 pages from %s", path)
		}
		p := getList(t, base+path)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, p.status, p.code)
		}
		pages = append(pages, p)
		path = ""
		if p.link != "" {
			m := linkRe.FindStringSubmatch(p.link)
			if m == nil {
				t.Fatalf("GET %s: Link %q is not <…>; rel=\"next\"", path, p.link)
			}
			path = m[1]
		}
	}
	return pages
}

func entries(pages []listPage) (all []string, sizes []int) {
	for _, p := range pages {
		all = append(all, p.entries...)
		sizes = append(sizes, len(p.entries))
	}
	return all, sizes
}

// referrerManifest is an artifact manifest of artifactType whose subject is
// the manifest subject (size bytes).
func referrerManifest(t *testing.T, config digest.Digest, subject digest.Digest, size int, artifactType string, annotations map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     ociManifest,
		"artifactType":  artifactType,
		"config":        map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": config, "size": 2},
		"layers":        []any{},
		"subject":       map[string]any{"mediaType": ociManifest, "digest": subject, "size": size},
		"annotations":   annotations,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fillRegistry pushes into repo an image with the given tags and n
// referrers of it, alternating two artifact types; it returns the image's
// digest and the referrers' digests by type, sorted.
func fillRegistry(t *testing.T, base, repo string, tags []string, n int, annotations map[string]string) (digest.Digest, map[string][]string) {
	t.Helper()
	cfg := pushBlob(t, base, repo, []byte("{}"))
	layer := pushBlob(t, base, repo, []byte("l"))
	m := imageManifest(cfg, layer, 2, 1)
	for _, tag := range tags {
		expect(t, do(t, "PUT", base+"/v2/"+repo+"/manifests/"+tag, m, "Content-Type", ociManifest), 201, "")
	}
	subject := digest.FromBytes(m)
	byType := map[string][]string{}
	for i := range n {
		at := []string{"application/x-sig", "application/x-sbom"}[i%2]
		a := map[string]string{"i": fmt.Sprint(i)}
		for k, v := range annotations {
			a[k] = v
		}
		ref := referrerManifest(t, cfg, subject, len(m), at, a)
		d := digest.FromBytes(ref)
		expect(t, do(t, "PUT", base+"/v2/"+repo+"/manifests/"+d.String(), ref, "Content-Type", ociManifest), 201, "")
		byType[at] = append(byType[at], d.String())
		byType[""] = append(byType[""], d.String())
	}
	for _, ds := range byType {
		slices.Sort(ds)
	}
	return subject, byType
}

// TestListsArePaged checks the three lists against a server whose pages
// hold at most 5 entries: a request without n, or with a larger n, gets a
// full page and a Link to the next; following the Links lists everything
// once, in order.
func TestListsArePaged(t *testing.T) {
	t.Parallel()
	base := newServerWith(t, nil, ociapi.Options{MaxListPage: 5, MaxReferrersPage: 5}).URL
	var tags, repos []string
	for i := range 12 {
		tags = append(tags, fmt.Sprintf("t%02d", i))
		repos = append(repos, fmt.Sprintf("lists/r%02d", i))
	}
	subject, refs := fillRegistry(t, base, repos[0], tags, 12, nil)
	for _, repo := range repos[1:] {
		pushBlob(t, base, repo, []byte("{}"))
		pushBlob(t, base, repo, []byte("l"))
		m := imageManifest(digest.FromString("{}"), digest.FromString("l"), 2, 1)
		expect(t, do(t, "PUT", base+"/v2/"+repo+"/manifests/latest", m, "Content-Type", ociManifest), 201, "")
	}
	tagsPath := "/v2/" + repos[0] + "/tags/list"
	refsPath := "/v2/" + repos[0] + "/referrers/" + subject.String()
	esc := url.QueryEscape

	t.Run("first pages", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			want       []string
			link       string
		}{
			{"tags without n", tagsPath, tags[:5], `<` + tagsPath + `?n=5&last=t04>; rel="next"`},
			{"tags with an empty n", tagsPath + "?n=", tags[:5], `<` + tagsPath + `?n=5&last=t04>; rel="next"`},
			{"tags n above the maximum", tagsPath + "?n=100", tags[:5], `<` + tagsPath + `?n=5&last=t04>; rel="next"`},
			{"tags n past int64", tagsPath + "?n=99999999999999999999999", tags[:5], `<` + tagsPath + `?n=5&last=t04>; rel="next"`},
			{"tags n below the maximum", tagsPath + "?n=3", tags[:3], `<` + tagsPath + `?n=3&last=t02>; rel="next"`},
			{"tags last page", tagsPath + "?n=5&last=t09", tags[10:], ""},
			{"tags last page without n", tagsPath + "?last=t06", tags[7:12], ""},
			{"tags n=0", tagsPath + "?n=0", nil, ""},
			{"catalog without n", "/v2/_catalog", repos[:5], `</v2/_catalog?n=5&last=` + esc(repos[4]) + `>; rel="next"`},
			{"catalog n above the maximum", "/v2/_catalog?n=6", repos[:5], `</v2/_catalog?n=5&last=` + esc(repos[4]) + `>; rel="next"`},
			{"catalog n=0", "/v2/_catalog?n=0", nil, ""},
			{"referrers without n", refsPath, refs[""][:5], `<` + refsPath + `?n=5&last=` + esc(refs[""][4]) + `>; rel="next"`},
			{"referrers n above the maximum", refsPath + "?n=1000", refs[""][:5], `<` + refsPath + `?n=5&last=` + esc(refs[""][4]) + `>; rel="next"`},
			{"referrers n below the maximum", refsPath + "?n=2", refs[""][:2], `<` + refsPath + `?n=2&last=` + esc(refs[""][1]) + `>; rel="next"`},
			{"referrers filtered", refsPath + "?artifactType=application/x-sig", refs["application/x-sig"][:5],
				`<` + refsPath + `?n=5&last=` + esc(refs["application/x-sig"][4]) + `&artifactType=application%2Fx-sig>; rel="next"`},
			{"referrers n=0", refsPath + "?n=0", nil, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := getList(t, base+tc.path)
				if p.status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", tc.path, p.status, p.code)
				}
				if diff := cmp.Diff(tc.want, p.entries); diff != "" {
					t.Errorf("GET %s: entries mismatch (-want +got):\n%s", tc.path, diff)
				}
				if p.link != tc.link {
					t.Errorf("GET %s: Link %q, want %q", tc.path, p.link, tc.link)
				}
			})
		}
	})

	t.Run("walks", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			want       []string
			sizes      []int
		}{
			{"tags", tagsPath, tags, []int{5, 5, 2}},
			{"tags by 4", tagsPath + "?n=4", tags, []int{4, 4, 4}},
			{"catalog", "/v2/_catalog", repos, []int{5, 5, 2}},
			{"referrers", refsPath, refs[""], []int{5, 5, 2}},
			{"referrers filtered", refsPath + "?artifactType=application/x-sbom", refs["application/x-sbom"], []int{5, 1}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				pages := walkList(t, base, tc.path)
				got, sizes := entries(pages)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("walk from %s mismatch (-want +got):\n%s", tc.path, diff)
				}
				if !slices.Equal(sizes, tc.sizes) {
					t.Errorf("walk from %s: page sizes %v, want %v", tc.path, sizes, tc.sizes)
				}
				for _, p := range pages {
					if strings.Contains(tc.path, "artifactType") && p.filters != "artifactType" {
						t.Errorf("walk from %s: a page without OCI-Filters-Applied: artifactType", tc.path)
					}
				}
			})
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			status     int
			code       string
		}{
			{"tags n negative", tagsPath + "?n=-1", 400, "PAGINATION_NUMBER_INVALID"},
			{"tags n not a number", tagsPath + "?n=ten", 400, "PAGINATION_NUMBER_INVALID"},
			{"tags n with a sign", tagsPath + "?n=%2B3", 400, "PAGINATION_NUMBER_INVALID"},
			{"tags n fractional", tagsPath + "?n=1.5", 400, "PAGINATION_NUMBER_INVALID"},
			{"tags n hexadecimal", tagsPath + "?n=0x10", 400, "PAGINATION_NUMBER_INVALID"},
			{"catalog n negative", "/v2/_catalog?n=-5", 400, "PAGINATION_NUMBER_INVALID"},
			{"referrers n not a number", refsPath + "?n=all", 400, "PAGINATION_NUMBER_INVALID"},
			{"referrers last not a digest", refsPath + "?last=t04", 400, "DIGEST_INVALID"},
			{"tags of an unknown repository, n=0", "/v2/no/such/tags/list?n=0", 404, "NAME_UNKNOWN"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := do(t, "GET", base+tc.path, nil)
				expect(t, r, tc.status, tc.code)
				if r.header.Get("Link") != "" {
					t.Errorf("an error with a Link header: %q", r.header.Get("Link"))
				}
				if tc.code == "PAGINATION_NUMBER_INVALID" && !strings.Contains(string(r.body), "at most 5 entries") {
					t.Errorf("the message does not say the maximum: %s", r.body)
				}
			})
		}
	})
}

// TestListDefaults checks the maxima when the options leave them at zero.
func TestListDefaults(t *testing.T) {
	t.Parallel()
	base := newServer(t).URL
	fillRegistry(t, base, "d", []string{"a"}, 0, nil)
	for _, tc := range []struct{ path, want string }{
		{"/v2/d/tags/list?n=abc", fmt.Sprintf("at most %d entries", ociapi.DefaultMaxListPage)},
		{"/v2/_catalog?n=abc", fmt.Sprintf("at most %d entries", ociapi.DefaultMaxListPage)},
		{"/v2/d/referrers/" + digest.FromString("x").String() + "?n=abc", fmt.Sprintf("at most %d entries", ociapi.DefaultMaxReferrersPage)},
	} {
		r := do(t, "GET", base+tc.path, nil)
		expect(t, r, 400, "PAGINATION_NUMBER_INVALID")
		if !strings.Contains(string(r.body), tc.want) {
			t.Errorf("GET %s: %s, want a message with %q", tc.path, r.body, tc.want)
		}
	}
	if ociapi.DefaultMaxListPage != 1000 || ociapi.DefaultMaxReferrersPage != 500 {
		t.Errorf("defaults %d and %d differ from docs/configuration.md's 1000 and 500", ociapi.DefaultMaxListPage, ociapi.DefaultMaxReferrersPage)
	}
}

// TestReferrersPageBytes checks that a referrers page ends before its
// descriptors pass registry.ReferrersPageBytes, whatever the count allows:
// clients read the page as a manifest and refuse one over 4 MiB.
func TestReferrersPageBytes(t *testing.T) {
	t.Parallel()
	base := newServer(t).URL
	// Three referrers of 1.5 MiB of annotations each: two fit in a page.
	big := map[string]string{"org.example.blob": strings.Repeat("x", 3<<19)}
	subject, refs := fillRegistry(t, base, "big", nil, 3, big)
	pages := walkList(t, base, "/v2/big/referrers/"+subject.String())
	got, sizes := entries(pages)
	if diff := cmp.Diff(refs[""], got); diff != "" {
		t.Errorf("walk mismatch (-want +got):\n%s", diff)
	}
	if !slices.Equal(sizes, []int{2, 1}) {
		t.Errorf("page sizes %v, want [2 1]", sizes)
	}
	for i, p := range pages {
		if p.size > registry.MaxManifestSize {
			t.Errorf("page %d is %d bytes, more than a manifest may be (%d)", i, p.size, registry.MaxManifestSize)
		}
	}
}
