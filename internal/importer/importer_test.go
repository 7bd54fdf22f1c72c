package importer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/importer"
	"wharf/internal/metadata"
	"wharf/internal/registry"
	"wharf/internal/storage/filesystem"
)

// target is a wharf to import into: blobs on disk, metadata in SQLite.
type target struct {
	importer.Target
	blobDir string
	blobs   *filesystem.Driver
}

func newTarget(t testing.TB) *target {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	dir := filepath.Join(t.TempDir(), "blobs")
	blobs, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &target{Target: importer.Target{Registry: registry.New(blobs, meta, log, registry.Options{}), Blobs: blobs}, blobDir: dir, blobs: blobs}
}

// run reads tr and imports it into tg, returning the summary, the error
// and what the progress display wrote.
func run(t *testing.T, ctx context.Context, tr *tree, tg *target, opts importer.Options, out io.Writer) (*importer.Summary, error) {
	t.Helper()
	src, err := importer.OpenSource(tr.root)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	plan, err := src.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out == nil {
		out = io.Discard
	}
	return importer.Import(ctx, src, plan, tg.Target, opts, importer.NewProgress(out, false, 0))
}

// fixture is a tree with every kind of content distribution holds.
type fixture struct {
	*tree
	app, untagged, index, child, sig digest.Digest
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{tree: newTree(t)}
	var appPayload []byte
	f.app, appPayload = f.image("team/app", "app", "1.0", "latest")
	f.untagged, _ = f.image("team/app", "old")
	f.sig = f.referrer("team/app", f.app, appPayload)
	var childPayload []byte
	f.child, childPayload = f.image("a/b/c/multi", "amd64")
	f.index = f.index_("a/b/c/multi", map[digest.Digest][]byte{f.child: childPayload}, "v1")
	return f
}

func (f *fixture) index_(repo string, children map[digest.Digest][]byte, tags ...string) digest.Digest {
	return f.tree.index(repo, children, tags...)
}

// TestImportTree imports every kind of content of a registry:2 tree (two
// tags on one digest, an untagged manifest, an index and its child in a
// nested repository, a referrer) and finds it all in wharf as a push
// would leave it; a second run finds everything already there and copies
// nothing; the tree is not changed.
func TestImportTree(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before := snapshot(t, f.root)
	tg := newTarget(t)
	ctx := t.Context()

	sum, err := run(t, ctx, f.tree, tg, importer.Options{}, nil)
	if err != nil {
		t.Fatalf("Import: %v (problems %v)", err, sum.Problems)
	}
	if sum.Repositories != 2 || sum.Tags != 3 || sum.Manifests != 5 || sum.BlobsCopied != 8 || sum.BlobsThere != 0 || sum.BlobsLinked != 0 {
		t.Errorf("summary %+v; want 2 repositories, 3 tags, 5 manifests, 8 blobs copied", *sum)
	}
	reg := tg.Registry
	cat, err := reg.Catalog(ctx, "", 0)
	if err != nil || !slices.Equal(cat, []string{"a/b/c/multi", "team/app"}) {
		t.Errorf("catalog %v, %v", cat, err)
	}
	tags, err := reg.Tags(ctx, "team/app", "", 0)
	if err != nil || !slices.Equal(tags, []string{"1.0", "latest"}) {
		t.Errorf("team/app tags %v, %v", tags, err)
	}
	for _, tc := range []struct {
		repo, ref string
		want      digest.Digest
	}{
		{"team/app", "1.0", f.app}, {"team/app", "latest", f.app}, {"team/app", f.untagged.String(), f.untagged},
		{"team/app", f.sig.String(), f.sig}, {"a/b/c/multi", "v1", f.index}, {"a/b/c/multi", f.child.String(), f.child},
	} {
		m, err := reg.ServeManifest(ctx, tc.repo, tc.ref, true)
		if err != nil || m.Digest != tc.want || digest.FromBytes(m.Payload) != tc.want {
			t.Errorf("%s:%s: %v, %v; want %s", tc.repo, tc.ref, m, err, tc.want)
		}
	}
	refs, _, err := reg.Referrers(ctx, "team/app", f.app, "", "", 0)
	if err != nil || len(refs) != 1 || refs[0].Digest != f.sig {
		t.Errorf("referrers of %s: %v, %v; want %s", f.app, refs, err, f.sig)
	}
	b, err := reg.OpenBlob(ctx, "team/app", digest.FromBytes([]byte("layer bytes of app")))
	if err != nil {
		t.Fatalf("layer of team/app: %v", err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if string(got) != "layer bytes of app" {
		t.Errorf("layer bytes %q", got)
	}
	if _, err := reg.StatBlob(ctx, "team/app", digest.FromBytes([]byte("layer bytes of amd64"))); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Errorf("a blob of a/b/c/multi is visible in team/app: %v", err)
	}

	again, err := run(t, ctx, f.tree, tg, importer.Options{}, nil)
	if err != nil {
		t.Fatalf("second Import: %v", err)
	}
	if again.BlobsCopied != 0 || again.BlobsThere != 8 || again.Manifests != 0 || again.ManifestsThere != 5 || again.Bytes != 0 {
		t.Errorf("second run %+v; want every blob and manifest already there", *again)
	}
	if after := snapshot(t, f.root); after != before {
		t.Errorf("the import changed the registry:2 tree:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// cancelOn cancels when the progress display writes a line containing
// what.
type cancelOn struct {
	mu     sync.Mutex
	what   string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.what) {
		c.cancel()
	}
	return len(p), nil
}

// TestImportResumes interrupts an import after its first repository and
// runs it again: the second run finishes the job, counting the first
// repository's blobs and manifests as already there, and removes the
// staged copy a killed import had left (and no upload of a client).
func TestImportResumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tg := newTarget(t)
	// What a SIGKILL in the middle of a copy leaves: a staged import upload.
	// A client's upload (43 characters) must survive.
	for _, id := range []string{"import-0123456789abcdef0123456789abcdef", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"} {
		w, err := tg.blobs.Upload(t.Context(), id, -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("half")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := &cancelOn{what: "repository a/b/c/multi done", cancel: cancel}
	first, err := run(t, ctx, f.tree, tg, importer.Options{}, stop)
	if !errors.Is(err, context.Canceled) || !first.Interrupted {
		t.Fatalf("interrupted Import: %v, %+v; want context.Canceled and Interrupted", err, *first)
	}
	if first.Repositories != 1 || first.StagedRemoved != 1 {
		t.Fatalf("interrupted Import %+v; want 1 repository done and 1 staged upload removed\n%s", *first, stop.buf.String())
	}
	var out bytes.Buffer
	importer.WriteSummary(&out, first, "/tree", "/data")
	if !strings.Contains(out.String(), "run the same command again") {
		t.Errorf("the summary of an interrupted import does not say how to finish:\n%s", out.String())
	}

	second, err := run(t, t.Context(), f.tree, tg, importer.Options{}, nil)
	if err != nil {
		t.Fatalf("resumed Import: %v", err)
	}
	// a/b/c/multi: 2 blobs and 2 manifests; team/app: 6 blobs, 3 manifests.
	if second.BlobsThere != 2 || second.ManifestsThere != 2 || second.BlobsCopied != 6 || second.Manifests != 3 || second.Repositories != 2 {
		t.Errorf("resumed Import %+v; want a/b/c/multi already there and team/app imported", *second)
	}
	ids, err := tg.blobs.UploadIDs(t.Context())
	if err != nil || !slices.Equal(ids, []string{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"}) {
		t.Errorf("uploads after the import: %v, %v; want only the client's", ids, err)
	}
	if _, err := tg.Registry.ServeManifest(t.Context(), "team/app", "latest", false); err != nil {
		t.Errorf("team/app:latest after resuming: %v", err)
	}
}

// TestImportLink hard-links blobs with Options.Link on one filesystem:
// wharf's blob is the source file's inode, and verified all the same.
func TestImportLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tg := newTarget(t)
	sum, err := run(t, t.Context(), f.tree, tg, importer.Options{Link: true}, nil)
	if err != nil {
		t.Fatalf("Import --link: %v", err)
	}
	if sum.BlobsLinked != 8 || sum.BlobsCopied != 0 {
		t.Fatalf("summary %+v; want 8 blobs linked", *sum)
	}
	layer := digest.FromBytes([]byte("layer bytes of app"))
	src, err := os.Stat(f.v2(blobPath(layer)...))
	if err != nil {
		t.Fatal(err)
	}
	var linked bool
	_ = filepath.WalkDir(tg.blobDir, func(p string, e os.DirEntry, err error) error {
		if fi, serr := os.Stat(p); err == nil && serr == nil && os.SameFile(fi, src) {
			linked = true
		}
		return nil
	})
	if !linked {
		t.Errorf("no file of wharf's blob store is the source's layer file")
	}
}

// TestImportCorruptBlob: a blob whose bytes do not match its digest is
// reported with its path and not stored (copied or linked), the manifest
// that needs it is reported and skipped, the rest is imported, and the
// import ends with ErrProblems and a summary that says so.
func TestImportCorruptBlob(t *testing.T) {
	t.Parallel()
	for _, link := range []bool{false, true} {
		t.Run(map[bool]string{false: "copy", true: "link"}[link], func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			layer := digest.FromBytes([]byte("layer bytes of app"))
			f.write([]byte("layer bytes of ap!"), blobPath(layer)...)
			tg := newTarget(t)
			var out bytes.Buffer
			sum, err := run(t, t.Context(), f.tree, tg, importer.Options{Link: link}, &out)
			if !errors.Is(err, importer.ErrProblems) {
				t.Fatalf("Import of a tree with a corrupt blob: %v; want ErrProblems", err)
			}
			if _, err := tg.blobs.Stat(t.Context(), layer); err == nil {
				t.Errorf("the corrupt blob was stored")
			}
			for _, want := range []string{f.v2(blobPath(layer)...) + ": blob " + layer.String() + ": corrupt",
				"manifest " + f.app.String() + " of team/app (2 tags: 1.0, latest) not imported"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("progress lacks %q:\n%s", want, out.String())
				}
			}
			if _, err := tg.Registry.ServeManifest(t.Context(), "team/app", "latest", false); !errors.Is(err, registry.ErrManifestUnknown) {
				t.Errorf("team/app:latest, whose layer is corrupt: %v; want unknown", err)
			}
			if _, err := tg.Registry.ServeManifest(t.Context(), "a/b/c/multi", "v1", false); err != nil {
				t.Errorf("a/b/c/multi:v1, unharmed: %v", err)
			}
			if len(sum.Problems) < 2 {
				t.Errorf("problems %v; want the blob and the manifest", sum.Problems)
			}
			ids, _ := tg.blobs.UploadIDs(t.Context())
			if len(ids) != 0 {
				t.Errorf("staged uploads left: %v", ids)
			}
		})
	}
}

// TestImportKeepsMovedTags: run again after a client pushed another
// manifest under a tag the tree has, the import leaves that tag as wharf
// has it, says so, and counts it apart.
func TestImportKeepsMovedTags(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tg := newTarget(t)
	if _, err := run(t, t.Context(), f.tree, tg, importer.Options{}, nil); err != nil {
		t.Fatal(err)
	}
	old, err := tg.Registry.ServeManifest(t.Context(), "team/app", f.untagged.String(), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Registry.PutManifest(t.Context(), "team/app", "latest", "", old.Payload, nil); err != nil {
		t.Fatalf("push to wharf: %v", err)
	}

	var out bytes.Buffer
	sum, err := run(t, t.Context(), f.tree, tg, importer.Options{}, &out)
	if err != nil {
		t.Fatalf("second Import: %v", err)
	}
	got, err := tg.Registry.ServeManifest(t.Context(), "team/app", "latest", false)
	if err != nil || got.Digest != f.untagged {
		t.Errorf("team/app:latest after the second import: %v, %v; want the pushed %s", got, err, f.untagged)
	}
	if sum.TagsKept != 1 || sum.Tags != 2 {
		t.Errorf("summary %+v; want 1 tag kept, 2 tags (1.0, v1) in place", *sum)
	}
	if want := "kept: tag latest of team/app points at " + f.untagged.String(); !strings.Contains(out.String(), want) {
		t.Errorf("progress lacks %q:\n%s", want, out.String())
	}
	var summary bytes.Buffer
	importer.WriteSummary(&summary, sum, "/tree", "/data")
	if !strings.Contains(summary.String(), "1 left as wharf has them") {
		t.Errorf("summary does not count the kept tag:\n%s", summary.String())
	}
}
