package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/storage/memory"
)

// newTestRegistry is a Registry over memory blobs and SQLite metadata.
func newTestRegistry(tb testing.TB, opts Options) (*Registry, *metadata.Store) {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	meta, err := metadata.Open(context.Background(), "sqlite", filepath.Join(tb.TempDir(), "wharf.db"), log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { meta.Close() })
	return New(memory.New(), meta, log, opts), meta
}

// pushTestImage stores an image whose config is content under tag.
func pushTestImage(tb testing.TB, r *Registry, meta *metadata.Store, repo, tag, content string) digest.Digest {
	tb.Helper()
	cfg := digest.FromString(content)
	if err := meta.AddBlob(context.Background(), repo, cfg, int64(len(content))); err != nil {
		tb.Fatal(err)
	}
	payload := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[]}`,
		MediaTypeOCIManifest, cfg, len(content))
	res, err := r.PutManifest(context.Background(), repo, tag, MediaTypeOCIManifest, []byte(payload), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Digest
}

// TestPullsRecorded: a GET or HEAD by tag records the tag's and the
// manifest's pull time, by digest the manifest's; nothing before a flush.
func TestPullsRecorded(t *testing.T) {
	t.Parallel()
	r, meta := newTestRegistry(t, Options{})
	ctx := t.Context()
	a := pushTestImage(t, r, meta, "app", "a", "config a")
	b := pushTestImage(t, r, meta, "app", "b", "config b")
	if _, err := r.ServeManifest(ctx, "app", "a", false); err != nil { // HEAD by tag
		t.Fatal(err)
	}
	if _, err := r.ServeManifest(ctx, "app", b.String(), true); err != nil { // GET by digest
		t.Fatal(err)
	}
	if _, err := r.ServeManifest(ctx, "app", "missing", true); err == nil {
		t.Fatal("a missing tag was served")
	}
	if err := meta.FlushPulls(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := meta.RepositoryState(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	pulled := map[string]bool{}
	for _, tg := range st.Tags {
		pulled["tag "+tg.Name] = !tg.PulledAt.IsZero()
	}
	for _, m := range st.Manifests {
		pulled[string(m.Digest)] = !m.PulledAt.IsZero()
	}
	want := map[string]bool{"tag a": true, "tag b": false, string(a): true, string(b): true}
	for k, v := range want {
		if pulled[k] != v {
			t.Errorf("%s pulled = %v, want %v", k, pulled[k], v)
		}
	}
}

// TestReadOnlyRefresh: the database's mode is read at most every
// ReadOnlyRefresh; the configuration's holds whatever the database says.
func TestReadOnlyRefresh(t *testing.T) {
	t.Parallel()
	r, meta := newTestRegistry(t, Options{})
	ctx := t.Context()
	var (
		mu  sync.Mutex
		now = time.Unix(1000, 0)
	)
	r.ro.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	if on, _ := r.ReadOnly(ctx); on {
		t.Fatal("read-only before anything was set")
	}
	if err := meta.SetReadOnly(ctx, true, "maintenance"); err != nil {
		t.Fatal(err)
	}
	if on, _ := r.ReadOnly(ctx); on {
		t.Fatal("the mode was read again before ReadOnlyRefresh passed")
	}
	advance(ReadOnlyRefresh)
	on, reason := r.ReadOnly(ctx)
	if !on || reason != "maintenance" {
		t.Fatalf("after ReadOnlyRefresh: %v %q; want on, maintenance", on, reason)
	}
	if err := r.CheckWritable(ctx); err == nil || !errors.Is(err, ErrReadOnly) {
		t.Fatalf("CheckWritable = %v, want ErrReadOnly", err)
	}

	fixed, meta2 := newTestRegistry(t, Options{ReadOnly: true})
	if err := meta2.SetReadOnly(ctx, false, ""); err != nil {
		t.Fatal(err)
	}
	if on, reason := fixed.ReadOnly(ctx); !on || reason != "read_only is set in the configuration" {
		t.Fatalf("configured read-only: %v %q", on, reason)
	}
}

// BenchmarkServeManifest measures a manifest GET by tag in the registry
// layer, with the pull recorded (what a pull costs now) and without (the
// metadata lookup alone, what it cost before pull times were recorded).
func BenchmarkServeManifest(b *testing.B) {
	r, meta := newTestRegistry(b, Options{})
	pushTestImage(b, r, meta, "app", "latest", "config")
	b.Run("recorded", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.ServeManifest(context.Background(), "app", "latest", true); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("lookup-only", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := meta.LookupManifest(context.Background(), "app", "latest", "", true); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
