package retention

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// cachedImage stores what the pull-through cache stores for repo:tag (tag
// "" for a pull by digest): a layer of size bytes and a manifest.
func cachedImage(t *testing.T, s *metadata.Store, repo, name, tag string, size int64) digest.Digest {
	t.Helper()
	if ok, err := s.ClaimCached(t.Context(), repo, "upstream.example", true); !ok || err != nil {
		t.Fatalf("ClaimCached(%s): %v, %v", repo, ok, err)
	}
	layer := digest.FromString("cached layer " + name)
	if err := s.AddBlob(t.Context(), repo, layer, size); err != nil {
		t.Fatal(err)
	}
	payload := fmt.Appendf(nil, `{"schemaVersion":2,"name":%q}`, name)
	m := &metadata.Manifest{Repo: repo, Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: int64(len(payload)), Payload: payload, Refs: []metadata.Ref{{Digest: layer, Kind: metadata.RefBlob}}}
	var tags []string
	if tag != "" {
		tags = []string{tag}
	}
	if err := s.PutCachedManifest(t.Context(), m, tags); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // distinct fetch times, oldest first
	return m.Digest
}

// TestCacheRetention: max_size untags an upstream's least recently used
// cached tags until the rest fits, evict_after those idle too long; the
// manifests they leave untagged go with them, while a manifest cached by
// digest, pushed repositories and recently pulled tags stay. A dry run
// reports the same without removing.
func TestCacheRetention(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	pulledOld := cachedImage(t, s, "hub/a", "a-old", "old", 1000)
	cachedImage(t, s, "hub/a", "a-new", "new", 1000)
	cachedImage(t, s, "hub/b", "b-1", "1", 1000)
	byDigest := cachedImage(t, s, "hub/a", "a-digest", "", 1000)
	cachedImage(t, s, "library/x", "x-1", "1", 1000)
	pushTo(t, s, "team/app", "local", "1")
	s.RecordPull("hub/a", "old", pulledOld) // the most recently used

	r := &Runner{Meta: s, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return time.Now().Add(2 * time.Hour) },
		Cache: []CacheRule{{Prefix: "hub", MaxSize: 2500}, {Prefix: "", EvictAfter: time.Hour}, {Prefix: "ghcr"}}}
	want := []string{"hub/a:new", "hub/b:1", "library/x:1"}
	untagged := func(rep *Report) []string {
		var out []string
		for _, d := range rep.Repositories {
			for _, it := range d.Untag {
				out = append(out, d.Repository+":"+it.Tag)
				if d.Policy != CachePolicy || !strings.Contains(it.Reason, "max_size") && !strings.Contains(it.Reason, "evict_after") {
					t.Errorf("%s:%s: policy %d, reason %q; want the cache's", d.Repository, it.Tag, d.Policy, it.Reason)
				}
			}
		}
		slices.Sort(out)
		return out
	}
	dry, err := r.Run(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := untagged(dry); !slices.Equal(got, want) || dry.Untagged != 3 {
		t.Errorf("dry run untags %v (%d); want %v", got, dry.Untagged, want)
	}
	if tags, _ := s.ListTags(ctx, "hub/b", "", 10); len(tags) != 1 {
		t.Errorf("the dry run removed hub/b's tags: %v", tags)
	}
	rep, err := r.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := untagged(rep); !slices.Equal(got, want) || rep.Untagged != 3 || rep.Deleted != 3 {
		t.Errorf("run untagged %v (%d), deleted %d manifests; want %v, 3", got, rep.Untagged, rep.Deleted, want)
	}
	for _, c := range []struct {
		repo string
		tags int
	}{{"hub/a", 1}, {"hub/b", 0}, {"library/x", 0}, {"team/app", 1}} {
		if tags, err := s.ListTags(ctx, c.repo, "", 10); err != nil || len(tags) != c.tags {
			t.Errorf("%s after the run: tags %v, %v; want %d", c.repo, tags, err, c.tags)
		}
	}
	if ok, err := s.HasManifest(ctx, "hub/a", byDigest); !ok || err != nil {
		t.Errorf("the manifest cached by digest: %v, %v; want it kept", ok, err)
	}
	if used, err := s.Usage(ctx, []string{"hub/a", "hub/b"}); err != nil || used > 2500 {
		t.Errorf("hub's cache uses %d bytes (%v) after the run; want at most max_size 2500", used, err)
	}
}
