package retention

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func daysAgo(n float64) time.Time { return now.Add(-time.Duration(n * float64(24*time.Hour))) }

func dg(name string) digest.Digest { return digest.FromString(name) }

// tag is a tag on the manifest named like it, pushed pushed days ago and
// pulled pulledDays ago (negative: never).
func tag(name, manifest string, pushed, pulledDays float64) metadata.RetentionTag {
	t := metadata.RetentionTag{Name: name, Digest: dg(manifest), PushedAt: daysAgo(pushed)}
	if pulledDays >= 0 {
		t.PulledAt = daysAgo(pulledDays)
	}
	return t
}

func manifest(name string, pushed float64, subject string, children ...string) metadata.RetentionManifest {
	m := metadata.RetentionManifest{Digest: dg(name), CreatedAt: daysAgo(pushed), MediaType: "application/vnd.oci.image.manifest.v1+json"}
	if subject != "" {
		m.Subject = dg(subject)
	}
	for _, c := range children {
		m.Children = append(m.Children, dg(c))
	}
	return m
}

// names maps digests back to fixture names for readable failures.
func names(st *metadata.RepositoryState, items []Item, withTags bool) []string {
	out := []string{}
	for _, it := range items {
		if withTags {
			if it.Tag != "" {
				out = append(out, it.Tag)
			}
			continue
		}
		if it.Tag != "" {
			continue
		}
		for _, m := range st.Manifests {
			if m.Digest == it.Digest {
				out = append(out, fixtureName[m.Digest])
			}
		}
	}
	return out
}

var fixtureName = map[digest.Digest]string{}

func init() {
	for _, n := range []string{"m1", "m2", "m3", "m4", "m5", "idx", "c1", "c2", "sig", "sig-old", "oldidx", "o1", "young", "orphan", "sigsig", "repushed"} {
		fixtureName[dg(n)] = n
	}
}

func TestEvaluate(t *testing.T) {
	// Five images tagged newest first, plus the untagged graph.
	tags := []metadata.RetentionTag{
		tag("v5", "m5", 1, -1), tag("v4", "m4", 2, -1), tag("v3", "m3", 3, 0.5),
		tag("v2", "m2", 4, -1), tag("latest", "m1", 10, -1), tag("dev-1", "m1", 11, -1),
	}
	repushed := manifest("repushed", 30, "")
	repushed.PushedAt = daysAgo(1)
	manifests := []metadata.RetentionManifest{
		manifest("m1", 11, ""), manifest("m2", 4, ""), manifest("m3", 3, ""), manifest("m4", 2, ""), manifest("m5", 1, ""),
		manifest("idx", 30, "", "c1"), manifest("c1", 30, ""), // untagged index, tagged below in one case
		manifest("sig", 30, "m5"),                                // referrer of a tagged image
		manifest("oldidx", 30, "", "o1"), manifest("o1", 30, ""), // untagged, old: index first
		manifest("sig-old", 30, "oldidx"), manifest("sigsig", 30, "sig-old"), // referrers of a deleted index
		manifest("young", 1, ""), // untagged but recent
		manifest("orphan", 30, ""),
		repushed, // untagged, first pushed long ago, pushed again recently
	}
	immutable := func(repo, tag string) (string, bool) { return `{repositories: "app", tags: "v2"}`, tag == "v2" }
	for _, tc := range []struct {
		name       string
		p          Policy
		immutable  Immutable
		extraTags  []metadata.RetentionTag
		wantUntag  []string
		wantDelete []string
		wantReason map[string]string
	}{
		{name: "keep_last", p: Policy{KeepLast: 2},
			wantUntag:  []string{"v3", "v2", "latest", "dev-1"},
			wantReason: map[string]string{"v5": "keep_last 2: newest #1", "v4": "newest #2"}},
		{name: "keep_within counts pulls", p: Policy{KeepWithin: 48*time.Hour + time.Hour},
			wantUntag:  []string{"v2", "latest", "dev-1"},
			wantReason: map[string]string{"v3": "pulled 12h0m0s ago", "v4": "pushed 2d ago"}},
		{name: "keep_last or keep_within", p: Policy{KeepLast: 1, KeepWithin: 36 * time.Hour},
			wantUntag:  []string{"v4", "v2", "latest", "dev-1"},
			wantReason: map[string]string{"v5": "keep_last 1", "v3": "pulled 12h0m0s ago"}},
		{name: "keep_tags", p: Policy{KeepLast: 1, KeepTags: []string{"latest", "v[34]"}},
			wantUntag:  []string{"v2", "dev-1"},
			wantReason: map[string]string{"latest": `keep_tags "latest"`, "v3": `keep_tags "v[34]"`}},
		{name: "tags pattern limits what goes", p: Policy{Tags: "dev-*", KeepLast: 0, KeepWithin: time.Hour},
			wantUntag:  []string{"dev-1"},
			wantReason: map[string]string{"v2": `not matched by tags "dev-*"`}},
		{name: "immutable tags stay", p: Policy{KeepLast: 1}, immutable: immutable,
			wantUntag:  []string{"v4", "v3", "latest", "dev-1"},
			wantReason: map[string]string{"v2": "immutable"}},
		{name: "untagged only", p: Policy{UntaggedAfter: 7 * 24 * time.Hour},
			wantUntag:  []string{},
			wantDelete: []string{"idx", "sigsig", "orphan", "sig-old", "c1", "oldidx", "o1"},
			wantReason: map[string]string{"sig": "referrer of kept manifest", "young": "untagged_after", "repushed": "pushed or pulled 24h0m0s ago"}},
		{name: "untagging frees the manifest", p: Policy{KeepLast: 4, UntaggedAfter: 7 * 24 * time.Hour},
			wantUntag:  []string{"latest", "dev-1"},
			wantDelete: []string{"idx", "sigsig", "m1", "orphan", "sig-old", "c1", "oldidx", "o1"}},
		{name: "a tagged index keeps its children", p: Policy{UntaggedAfter: 7 * 24 * time.Hour},
			extraTags:  []metadata.RetentionTag{tag("multi", "idx", 30, -1)},
			wantUntag:  []string{},
			wantDelete: []string{"sigsig", "orphan", "sig-old", "oldidx", "o1"},
			wantReason: map[string]string{"c1": "child of kept index"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &metadata.RepositoryState{Repo: "app", Tags: append(slices.Clone(tags), tc.extraTags...), Manifests: manifests}
			d := Evaluate(tc.p, 3, st, now, tc.immutable)
			if d.Policy != 3 || d.Repository != "app" {
				t.Fatalf("decision names policy %d of %q", d.Policy, d.Repository)
			}
			if got := names(st, d.Untag, true); !slices.Equal(got, tc.wantUntag) {
				t.Errorf("untag %v, want %v", got, tc.wantUntag)
			}
			wantDelete := tc.wantDelete
			if wantDelete == nil {
				wantDelete = []string{}
			}
			got := names(st, d.Delete, false)
			if !slices.Equal(sorted(got), sorted(wantDelete)) {
				t.Errorf("delete %v, want %v", got, wantDelete)
			}
			wantParentsFirst(t, st, d.Delete)
			for key, want := range tc.wantReason {
				found := false
				for _, it := range d.Kept {
					if it.Tag == key || (it.Tag == "" && fixtureName[it.Digest] == key) {
						found = true
						if !strings.Contains(it.Reason, want) {
							t.Errorf("%s kept because %q, want it to say %q", key, it.Reason, want)
						}
					}
				}
				if !found {
					t.Errorf("%s is not among the kept: %+v", key, d.Kept)
				}
			}
			// Nothing is both removed and kept, and every tag is decided.
			if n := len(d.Untag) + countTags(d.Kept); n != len(st.Tags) {
				t.Errorf("%d tags decided, want %d", n, len(st.Tags))
			}
		})
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// wantParentsFirst fails when a deleted manifest comes before a deleted
// manifest that refers to it (as child or subject).
func wantParentsFirst(t *testing.T, st *metadata.RepositoryState, del []Item) {
	t.Helper()
	pos := map[digest.Digest]int{}
	for i, it := range del {
		pos[it.Digest] = i
	}
	for _, m := range st.Manifests {
		p, deleted := pos[m.Digest]
		if !deleted {
			continue
		}
		refs := slices.Clone(m.Children)
		if m.Subject != "" {
			refs = append(refs, m.Subject)
		}
		for _, r := range refs {
			if c, ok := pos[r]; ok && c < p {
				t.Errorf("%s is deleted before %s, which refers to it", fixtureName[r], fixtureName[m.Digest])
			}
		}
	}
}

func countTags(items []Item) int {
	n := 0
	for _, it := range items {
		if it.Tag != "" {
			n++
		}
	}
	return n
}

func TestSelectAndGuard(t *testing.T) {
	ps := []Policy{{Repositories: "team/*"}, {Repositories: "*"}, {Repositories: "team/a"}}
	for repo, want := range map[string]int{"team/a": 0, "team/a/b": -1, "app": 1} {
		if got := Select(ps, repo); got != want {
			t.Errorf("Select(%q) = %d, want %d", repo, got, want)
		}
	}
	if Guard(nil) != nil {
		t.Fatal("Guard(nil) is not nil")
	}
	g := Guard([]ImmutableRule{{Repositories: "prod/*", Tags: "v*", Name: "r0"}, {Repositories: "*", Tags: "release-[0-9]*", Name: "r1"}})
	for _, tc := range []struct {
		repo, tag, rule string
		frozen          bool
	}{
		{"prod/app", "v1", "r0", true}, {"prod/app", "latest", "", false}, {"prod/a/b", "v1", "", false},
		{"app", "release-1", "r1", true}, {"app", "release-x", "", false},
	} {
		rule, frozen := g(tc.repo, tc.tag)
		if rule != tc.rule || frozen != tc.frozen {
			t.Errorf("guard(%s, %s) = %q, %v; want %q, %v", tc.repo, tc.tag, rule, frozen, tc.rule, tc.frozen)
		}
	}
}
