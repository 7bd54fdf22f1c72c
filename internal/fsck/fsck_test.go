package fsck_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/fsck"
	"wharf/internal/metadata"
	"wharf/internal/progress"
	"wharf/internal/storage/filesystem"
)

// registry is a real SQLite store and filesystem driver in a temporary
// directory, written the way a push writes them.
type registry struct {
	t     testing.TB
	meta  *metadata.Store
	blobs *filesystem.Driver
	root  string
	log   *slog.Logger
	n     int
}

func newRegistry(t testing.TB) *registry {
	t.Helper()
	root := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(root, "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	blobs, err := filesystem.New(filepath.Join(root, "storage"))
	if err != nil {
		t.Fatal(err)
	}
	return &registry{t: t, meta: meta, blobs: blobs, root: root, log: log}
}

// commit writes content to storage only.
func (r *registry) commit(content string) digest.Digest {
	r.t.Helper()
	ctx := r.t.Context()
	r.n++
	w, err := r.blobs.Upload(ctx, fmt.Sprintf("upload-for-a-test-%06d", r.n), -1)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := io.WriteString(w, content); err != nil {
		r.t.Fatal(err)
	}
	d := digest.FromString(content)
	if err := w.Commit(ctx, d); err != nil {
		r.t.Fatal(err)
	}
	return d
}

// blob pushes content into repo: bytes, then row and link.
func (r *registry) blob(repo, content string) digest.Digest {
	r.t.Helper()
	d := r.commit(content)
	if err := r.meta.AddBlob(r.t.Context(), repo, d, int64(len(content))); err != nil {
		r.t.Fatal(err)
	}
	return d
}

// manifest pushes a manifest referring to refs (blobs) and children
// (manifests) and points tags at it.
func (r *registry) manifest(repo string, refs, children []digest.Digest, tags ...string) digest.Digest {
	r.t.Helper()
	payload, _ := json.Marshal(map[string]any{"refs": refs, "children": children, "n": r.n})
	r.n++
	m := &metadata.Manifest{Repo: repo, Digest: digest.FromBytes(payload), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: int64(len(payload)), Payload: payload}
	for _, d := range refs {
		m.Refs = append(m.Refs, metadata.Ref{Kind: metadata.RefBlob, Digest: d})
	}
	for _, d := range children {
		m.Refs = append(m.Refs, metadata.Ref{Kind: metadata.RefManifest, Digest: d})
	}
	if err := r.meta.PutManifest(r.t.Context(), m, tags); err != nil {
		r.t.Fatal(err)
	}
	return m.Digest
}

// path is the file holding a committed blob.
func (r *registry) path(d digest.Digest) string {
	r.t.Helper()
	var found string
	filepath.WalkDir(r.root, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Name() == d.Encoded() {
			found = p
		}
		return nil
	})
	if found == "" {
		r.t.Fatalf("no file for %s", d)
	}
	return found
}

func (r *registry) run(repair bool) (*fsck.Report, error) {
	r.t.Helper()
	var out bytes.Buffer
	rep, err := fsck.Run(r.t.Context(), r.meta, r.blobs, r.log, fsck.Options{Repair: repair,
		Quarantine: filepath.Join(r.root, "quarantine"), Progress: progress.New(&out, false, 0, "fsck", "checking")})
	if err != nil && !errors.Is(err, fsck.ErrProblems) {
		r.t.Fatal(err)
	}
	if (err != nil) != (len(rep.Problems) > 0) {
		r.t.Fatalf("error %v with %d problems", err, len(rep.Problems))
	}
	return rep, err
}

// images is two images sharing a layer, and an index of both.
type images struct {
	base, appLayer, webLayer, cfg digest.Digest
	app, web, index               digest.Digest
}

func push(r *registry) images {
	var im images
	im.base = r.blob("team/app", "base layer")
	im.appLayer = r.blob("team/app", "app layer")
	im.cfg = r.blob("team/app", "config")
	im.app = r.manifest("team/app", []digest.Digest{im.cfg, im.base, im.appLayer}, nil, "v1", "latest")
	im.webLayer = r.blob("team/app", "web layer")
	im.web = r.manifest("team/app", []digest.Digest{im.cfg, im.base, im.webLayer}, nil, "web")
	im.index = r.manifest("team/app", nil, []digest.Digest{im.app, im.web}, "multi")
	r.blob("other", "base layer") // a second repository linking the base layer
	return im
}

// problem is what the tests compare of a Problem.
type problem struct {
	Kind   fsck.Kind
	Digest digest.Digest
	Repos  []string
	Tags   []string
}

func summary(rep *fsck.Report) []problem {
	var out []problem
	for _, p := range rep.Problems {
		out = append(out, problem{p.Kind, p.Digest, p.Repositories, p.Tags})
	}
	return out
}

func TestRunFindsProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(r *registry, im images)
		want  func(im images) []problem
	}{
		{"clean", func(*registry, images) {}, func(images) []problem { return nil }},
		{"a shared layer's bytes changed", func(r *registry, im images) {
			if err := os.WriteFile(r.path(im.base), []byte("BASE layer"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, func(im images) []problem {
			return []problem{{fsck.BlobDigest, im.base, []string{"other", "team/app"},
				[]string{"team/app:latest", "team/app:multi", "team/app:v1", "team/app:web"}}}
		}},
		{"a layer truncated", func(r *registry, im images) {
			if err := os.Truncate(r.path(im.webLayer), 3); err != nil {
				t.Fatal(err)
			}
		}, func(im images) []problem {
			return []problem{{fsck.BlobSize, im.webLayer, []string{"team/app"}, []string{"team/app:multi", "team/app:web"}}}
		}},
		{"a layer's bytes gone", func(r *registry, im images) {
			if err := os.Remove(r.path(im.appLayer)); err != nil {
				t.Fatal(err)
			}
		}, func(im images) []problem {
			return []problem{{fsck.BlobMissing, im.appLayer, []string{"team/app"},
				[]string{"team/app:latest", "team/app:multi", "team/app:v1"}}}
		}},
		{"an index child deleted", func(r *registry, im images) {
			if err := r.meta.DeleteManifest(t.Context(), "team/app", im.web); err != nil {
				t.Fatal(err)
			}
		}, func(im images) []problem {
			return []problem{{fsck.ChildMissing, im.web, []string{"team/app"}, []string{"team/app:multi"}}}
		}},
		{"a layer unlinked from its repository", func(r *registry, im images) {
			if err := r.meta.UnlinkBlob(t.Context(), "team/app", im.webLayer); err != nil {
				t.Fatal(err)
			}
		}, func(im images) []problem {
			return []problem{{fsck.ReferenceUnlink, im.webLayer, []string{"team/app"}, []string{"team/app:multi", "team/app:web"}}}
		}},
		{"bytes with no row are orphans, not problems", func(r *registry, _ images) {
			r.commit("pushed, then the server died before its row")
		}, func(images) []problem { return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRegistry(t)
			im := push(r)
			tc.spoil(r, im)
			rep, _ := r.run(false)
			if diff := cmp.Diff(tc.want(im), summary(rep)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if rep.Blobs != 4 || rep.Bytes != int64(len("base layer")+len("app layer")+len("config")+len("web layer")) {
				t.Errorf("checked %d blobs of %d bytes, want the 4 pushed", rep.Blobs, rep.Bytes)
			}
		})
	}
}

func TestRunListsOrphans(t *testing.T) {
	t.Parallel()
	r := newRegistry(t)
	push(r)
	d := r.commit("no row")
	rep, err := r.run(false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []fsck.Orphan{{Digest: d, Size: 6}}; !cmp.Equal(rep.Orphans, want) {
		t.Errorf("orphans %v, want %v", rep.Orphans, want)
	}
}

func TestRunDetectsACorruptManifestPayload(t *testing.T) {
	t.Parallel()
	r := newRegistry(t)
	im := push(r)
	// The payload lives in the database: change it there, as a disk
	// fault or a hand edit would.
	if err := rewritePayload(t.Context(), filepath.Join(r.root, "wharf.db"), im.web); err != nil {
		t.Fatal(err)
	}
	rep, _ := r.run(false)
	want := []problem{{fsck.ManifestDigest, im.web, []string{"team/app"}, []string{"team/app:multi", "team/app:web"}}}
	if diff := cmp.Diff(want, summary(rep)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestRepairQuarantinesUntagsAndAPushHeals(t *testing.T) {
	t.Parallel()
	r := newRegistry(t)
	im := push(r)
	corrupt := []byte("APP layer")
	if err := os.WriteFile(r.path(im.appLayer), corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := r.run(true)
	if !errors.Is(err, fsck.ErrProblems) {
		t.Fatalf("repair run: %v, want the problems it repaired", err)
	}
	if want := []string{"team/app:latest", "team/app:multi", "team/app:v1"}; !cmp.Equal(rep.Untagged, want) {
		t.Errorf("untagged %v, want %v", rep.Untagged, want)
	}
	q := filepath.Join(r.root, "quarantine", "sha256", im.appLayer.Encoded())
	if got, err := os.ReadFile(q); err != nil || !bytes.Equal(got, corrupt) {
		t.Errorf("quarantined bytes %q, %v; want the corrupt bytes kept", got, err)
	}
	var n struct {
		Kind fsck.Kind
		Tags []string
	}
	if b, err := os.ReadFile(q + ".json"); err != nil || json.Unmarshal(b, &n) != nil || n.Kind != fsck.BlobDigest || len(n.Tags) != 3 {
		t.Errorf("quarantine note %+v, %v", n, err)
	}
	if _, err := r.blobs.Stat(t.Context(), im.appLayer); err == nil {
		t.Error("the corrupt bytes are still in storage")
	}
	if _, err := r.meta.BlobSize(t.Context(), im.appLayer); !errors.Is(err, metadata.ErrNotFound) {
		t.Errorf("the corrupt blob's row: %v, want it removed", err)
	}
	if d, err := r.meta.ResolveTag(t.Context(), "team/app", "web"); err != nil || d != im.web {
		t.Errorf("web tag: %s, %v; want it kept, its image is whole", d, err)
	}

	// The untagged manifest still lacks its layer: a problem until the
	// image is pushed again, which uploads the layer (its row is gone).
	rep, _ = r.run(false)
	if diff := cmp.Diff([]problem{{fsck.ReferenceMissing, im.appLayer, []string{"team/app"}, nil}}, summary(rep)); diff != "" {
		t.Errorf("after repair (-want +got):\n%s", diff)
	}
	r.blob("team/app", "app layer")
	if _, err := r.run(false); err != nil {
		t.Errorf("after the layer is pushed again: %v", err)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	r := newRegistry(t)
	push(r)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := fsck.Run(ctx, r.meta, r.blobs, r.log, fsck.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

// rewritePayload changes one byte of a manifest's stored payload.
func rewritePayload(ctx context.Context, path string, d digest.Digest) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "UPDATE manifests SET payload = CAST(REPLACE(CAST(payload AS TEXT), 'refs', 'REFS') AS BLOB) WHERE digest = ?", d.String())
	return err
}

// BenchmarkRun checks 64 blobs of 1 MiB and 32 manifests: the bytes per
// second it reports is fsck's hashing rate over files in the page cache.
func BenchmarkRun(b *testing.B) {
	r := newRegistry(b)
	var layers []digest.Digest
	for i := range 64 {
		layers = append(layers, r.blob("bench/app", strings.Repeat(string(rune('a'+i%26)), 1<<20-i)))
	}
	for i := range 32 {
		r.manifest("bench/app", layers[i:i+3], nil, fmt.Sprint("t", i))
	}
	b.SetBytes(64 << 20) // about: each blob is 1 MiB less a few bytes
	b.ResetTimer()
	for b.Loop() {
		rep, err := fsck.Run(b.Context(), r.meta, r.blobs, r.log, fsck.Options{})
		if err != nil || rep.Blobs != 64 {
			b.Fatalf("%d blobs, %v", rep.Blobs, err)
		}
	}
}

// TestCachedManifestsNotFetched: in a repository the pull-through cache
// filled, a manifest whose layers and children no one pulled yet is no
// problem (nor does --repair untag it), while a pushed manifest missing a
// blob still is, and so are wrong bytes in the cached repository.
func TestCachedManifestsNotFetched(t *testing.T) {
	t.Parallel()
	r := newRegistry(t)
	ctx := t.Context()
	if ok, err := r.meta.ClaimCached(ctx, "library/busybox", "registry-1.docker.io", false); !ok || err != nil {
		t.Fatalf("ClaimCached: %v, %v", ok, err)
	}
	layer, child := digest.FromString("a layer no one pulled"), digest.FromString("a platform no one pulled")
	fetched := r.blob("library/busybox", "a fetched layer")
	for _, m := range []struct {
		tag      string
		refs     []digest.Digest
		children []digest.Digest
	}{{"1", []digest.Digest{layer, fetched}, nil}, {"multi", nil, []digest.Digest{child}}} {
		payload, _ := json.Marshal(map[string]any{"refs": m.refs, "children": m.children})
		mf := &metadata.Manifest{Repo: "library/busybox", Digest: digest.FromBytes(payload),
			MediaType: "application/vnd.oci.image.manifest.v1+json", Size: int64(len(payload)), Payload: payload}
		for _, d := range m.refs {
			mf.Refs = append(mf.Refs, metadata.Ref{Kind: metadata.RefBlob, Digest: d})
		}
		for _, d := range m.children {
			mf.Refs = append(mf.Refs, metadata.Ref{Kind: metadata.RefManifest, Digest: d})
		}
		if err := r.meta.PutCachedManifest(ctx, mf, []string{m.tag}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := r.run(true)
	if err != nil || rep.NotFetched != 2 || len(rep.Untagged) != 0 {
		t.Fatalf("fsck --repair of a cache not fully pulled: %v, %d not fetched, untagged %v; want no problem, 2 not fetched",
			err, rep.NotFetched, rep.Untagged)
	}
	if tags, err := r.meta.ListTags(ctx, "library/busybox", "", 10); err != nil || len(tags) != 2 {
		t.Errorf("cached tags after --repair: %v, %v; want both kept", tags, err)
	}

	// A pushed manifest whose blob is gone is still reported, and so
	// are corrupt bytes of a cached blob.
	im := push(r)
	if err := r.meta.UnlinkBlob(ctx, "team/app", im.webLayer); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.path(fetched), []byte("A fetched layer"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, _ = r.run(false)
	kinds := map[fsck.Kind]digest.Digest{}
	for _, p := range rep.Problems {
		kinds[p.Kind] = p.Digest
	}
	if kinds[fsck.ReferenceUnlink] != im.webLayer || kinds[fsck.BlobDigest] != fetched || len(rep.Problems) != 2 {
		t.Errorf("problems %+v; want the pushed manifest's missing %s and the cached blob's corrupt bytes %s", summary(rep), im.webLayer, fetched)
	}
}
