package gc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/registry"
	"wharf/internal/storage"
	"wharf/internal/storage/filesystem"
	"wharf/internal/storage/storagetest"
)

const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar"
)

// env is a registry on a real filesystem driver and SQLite, with a
// collector whose clock runs two hours ahead when aged: everything written
// is then older than the one-hour grace period of opts().
type env struct {
	t     *testing.T
	meta  *metadata.Store
	blobs *filesystem.Driver
	reg   *registry.Registry
	c     *Collector
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	meta, err := metadata.Open(t.Context(), "sqlite", filepath.Join(dir, "wharf.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, meta: meta, blobs: blobs, reg: registry.New(blobs, meta, log, registry.Options{}),
		c: New(meta, blobs, log, "test")}
}

// age makes everything written so far older than the grace period.
func (e *env) age() { e.c.now = func() time.Time { return time.Now().Add(2 * time.Hour) } }

func opts() Options { return Options{Grace: time.Hour, UploadsGrace: time.Hour} }

func (e *env) run(o Options) Result {
	e.t.Helper()
	res, err := e.c.Run(e.t.Context(), o)
	if err != nil {
		e.t.Fatalf("Run: %v", err)
	}
	return res
}

// pushBlob uploads content to repo through the registry, as a client does.
func (e *env) pushBlob(repo, content string) digest.Digest {
	e.t.Helper()
	ctx := e.t.Context()
	u, err := e.reg.StartUpload(ctx, repo)
	if err != nil {
		e.t.Fatal(err)
	}
	d := digest.FromString(content)
	if _, err := e.reg.FinishUpload(ctx, repo, u.ID, d, 0, int64(len(content)), strings.NewReader(content)); err != nil {
		e.t.Fatalf("FinishUpload %s: %v", d, err)
	}
	return d
}

type descriptor struct {
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

// image is a manifest's payload and the blobs it refers to.
type image struct {
	payload []byte
	digest  digest.Digest
	blobs   []digest.Digest
}

// imagePayload builds an OCI manifest for config and layers (pushed or not).
func imagePayload(config string, layers []string, subject *descriptor) image {
	m := map[string]any{"schemaVersion": 2, "mediaType": mediaManifest,
		"config": descriptor{mediaConfig, digest.FromString(config), int64(len(config))}}
	img := image{blobs: []digest.Digest{digest.FromString(config)}}
	var ls []descriptor
	for _, l := range layers {
		ls = append(ls, descriptor{mediaLayer, digest.FromString(l), int64(len(l))})
		img.blobs = append(img.blobs, digest.FromString(l))
	}
	m["layers"] = ls
	if subject != nil {
		m["subject"] = subject
	}
	img.payload, _ = json.Marshal(m)
	img.digest = digest.FromBytes(img.payload)
	return img
}

// pushImage pushes config and layers, then the manifest, tagged tag (or
// by digest when tag is empty).
func (e *env) pushImage(repo, tag, config string, layers ...string) image {
	e.t.Helper()
	for _, c := range append([]string{config}, layers...) {
		e.pushBlob(repo, c)
	}
	img := imagePayload(config, layers, nil)
	e.putManifest(repo, tag, mediaManifest, img.payload)
	return img
}

func (e *env) putManifest(repo, tag, mediaType string, payload []byte) {
	e.t.Helper()
	ref := tag
	if ref == "" {
		ref = digest.FromBytes(payload).String()
	}
	if _, err := e.reg.PutManifest(e.t.Context(), repo, ref, mediaType, payload, nil); err != nil {
		e.t.Fatalf("PutManifest %s:%s: %v", repo, ref, err)
	}
}

func (e *env) pushIndex(repo, tag string, children ...image) image {
	e.t.Helper()
	var ms []descriptor
	for _, c := range children {
		ms = append(ms, descriptor{mediaManifest, c.digest, int64(len(c.payload))})
	}
	payload, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediaIndex, "manifests": ms})
	e.putManifest(repo, tag, mediaIndex, payload)
	return image{payload: payload, digest: digest.FromBytes(payload)}
}

// wantPulls checks that img pulls completely from repo: its manifest and
// every blob's bytes, verified by digest.
func (e *env) wantPulls(repo string, img image) {
	e.t.Helper()
	ctx := e.t.Context()
	if _, err := e.reg.GetManifest(ctx, repo, img.digest.String()); err != nil {
		e.t.Errorf("manifest %s@%s: %v", repo, img.digest, err)
	}
	for _, d := range img.blobs {
		b, err := e.reg.OpenBlob(ctx, repo, d)
		if err != nil {
			e.t.Errorf("blob %s in %s: %v", d, repo, err)
			continue
		}
		got, err := digest.FromReader(b)
		b.Close()
		if err != nil || got != d {
			e.t.Errorf("blob %s in %s reads as %s, %v", d, repo, got, err)
		}
	}
}

// wantGone checks that a blob's bytes and row are gone.
func (e *env) wantGone(d digest.Digest) {
	e.t.Helper()
	if _, err := e.blobs.Stat(e.t.Context(), d); !errors.Is(err, storage.ErrNotFound) {
		e.t.Errorf("blob file %s: Stat = %v, want not found", d, err)
	}
	if ok, err := e.meta.HasBlob(e.t.Context(), d); err != nil || ok {
		e.t.Errorf("blob row %s: HasBlob = %v, %v; want gone", d, ok, err)
	}
}

func (e *env) wantKept(d digest.Digest) {
	e.t.Helper()
	if _, err := e.blobs.Stat(e.t.Context(), d); err != nil {
		e.t.Errorf("blob file %s: %v, want kept", d, err)
	}
}

// orphanFile commits content's bytes to storage with no row: a crash
// between the two.
func (e *env) orphanFile(content string) digest.Digest {
	e.t.Helper()
	ctx := e.t.Context()
	w, err := e.blobs.Upload(ctx, storagetest.NewID(), -1)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		e.t.Fatal(err)
	}
	d := digest.FromString(content)
	if err := w.Commit(ctx, d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

func size(s ...string) int64 {
	var n int64
	for _, x := range s {
		n += int64(len(x))
	}
	return n
}

func TestDeletedImageFreesItsOwnBlobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.pushImage("app", "a", "config a", "shared base", "layer a")
	b := e.pushImage("app", "b", "config b", "shared base", "layer b")
	other := e.pushImage("other", "x", "config x", "layer a") // layer a, referred to elsewhere
	if err := e.reg.DeleteManifest(t.Context(), "app", a.digest.String()); err != nil {
		t.Fatal(err)
	}

	// Within the grace period nothing goes.
	if res := e.run(opts()); res.BlobsDeleted != 0 || res.BytesFreed != 0 {
		t.Fatalf("within the grace period: %+v, want nothing deleted", res)
	}
	e.age()
	res := e.run(opts())
	if res.BlobsDeleted != 1 || res.BytesFreed != size("config a") || res.Error != "" {
		t.Errorf("result %+v, want 1 blob (config a, %d bytes) freed", res, size("config a"))
	}
	e.wantGone(digest.FromString("config a"))
	e.wantPulls("app", b)
	e.wantPulls("other", other)
	if res := e.run(opts()); res.BlobsDeleted != 0 {
		t.Errorf("second run deleted %d blobs, want 0", res.BlobsDeleted)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.pushImage("app", "a", "config a", "layer a")
	untagged := e.pushImage("app", "", "config u", "layer u")
	if err := e.reg.DeleteManifest(t.Context(), "app", a.digest.String()); err != nil {
		t.Fatal(err)
	}
	up, err := e.reg.StartUpload(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	e.age()
	o := opts()
	o.DryRun, o.DeleteUntagged = true, true
	dry := e.run(o)
	want := Result{DryRun: true, DeleteUntagged: true, ManifestsDeleted: 1, BlobsDeleted: 2,
		BytesFreed: size("config a", "layer a"), UploadsDeleted: 1}
	if got := strip(dry); got != want {
		t.Errorf("dry run = %+v, want %+v", got, want)
	}
	for _, d := range a.blobs {
		e.wantKept(d)
	}
	e.wantPulls("app", untagged)
	if _, err := e.reg.UploadStatus(t.Context(), "app", up.ID); err != nil {
		t.Errorf("upload after a dry run: %v", err)
	}
	// The real run does what the dry run counted, and frees the untagged
	// image's blobs too.
	o.DryRun = false
	res := e.run(o)
	want = Result{DeleteUntagged: true, ManifestsDeleted: 1, BlobsDeleted: 4,
		BytesFreed: size("config a", "layer a", "config u", "layer u"), UploadsDeleted: 1}
	if got := strip(res); got != want {
		t.Errorf("run = %+v, want %+v", got, want)
	}
	for _, d := range append(a.blobs, untagged.blobs...) {
		e.wantGone(d)
	}
}

// strip zeroes a Result's times for comparison.
func strip(r Result) Result {
	r.Started, r.Finished, r.Duration = time.Time{}, time.Time{}, 0
	return r
}

func TestDeleteUntaggedKeepsIndexChildrenAndReferrers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	amd := e.pushImage("app", "", "config amd64", "base", "amd64 layer")
	arm := e.pushImage("app", "", "config arm64", "base", "arm64 layer")
	idx := e.pushIndex("app", "multi", amd, arm)
	tagged := e.pushImage("app", "v1", "config v1", "v1 layer")
	e.pushBlob("app", "signature config")
	sig := imagePayload("signature config", nil, &descriptor{mediaManifest, tagged.digest, int64(len(tagged.payload))})
	e.putManifest("app", "", mediaManifest, sig.payload)
	// An untagged index with an untagged child: both go, in two passes.
	lone := e.pushImage("app", "", "config lone", "lone layer")
	e.pushIndex("app", "", lone)
	loose := e.pushImage("app", "", "config loose", "base")

	e.age()
	o := opts()
	o.DeleteUntagged = true
	res := e.run(o)
	if res.ManifestsDeleted != 3 {
		t.Errorf("deleted %d manifests, want 3 (the untagged index, its child, the loose image)", res.ManifestsDeleted)
	}
	if want := size("config lone", "lone layer", "config loose"); res.BytesFreed != want || res.BlobsDeleted != 3 {
		t.Errorf("freed %d blobs, %d bytes; want 3, %d", res.BlobsDeleted, res.BytesFreed, want)
	}
	e.wantPulls("app", amd)
	e.wantPulls("app", arm)
	e.wantPulls("app", tagged)
	e.wantPulls("app", sig)
	if _, err := e.reg.GetManifest(t.Context(), "app", idx.digest.String()); err != nil {
		t.Errorf("tagged index: %v", err)
	}
	if _, err := e.reg.GetManifest(t.Context(), "app", loose.digest.String()); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Errorf("loose image: %v, want unknown", err)
	}
	e.wantKept(digest.FromString("base"))
}

func TestOrphanFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	content := "orphaned bytes"
	d := e.orphanFile(content)
	kept := e.pushImage("app", "v1", "config", "layer")

	if res := e.run(opts()); res.OrphansDeleted != 0 {
		t.Fatalf("a fresh file was removed: %+v", res)
	}
	e.wantKept(d)
	e.age()
	res := e.run(opts())
	if res.OrphansDeleted != 1 || res.BytesFreed != size(content) || res.BlobsDeleted != 0 {
		t.Errorf("result %+v, want 1 orphan of %d bytes", res, len(content))
	}
	e.wantGone(d)
	e.wantPulls("app", kept)
}

func TestStaleUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u, err := e.reg.StartUpload(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.AppendUpload(ctx, "app", u.ID, 0, 5, bytes.NewReader([]byte("12345"))); err != nil {
		t.Fatal(err)
	}
	if res := e.run(opts()); res.UploadsDeleted != 0 {
		t.Fatalf("a fresh upload was removed: %+v", res)
	}
	e.age()
	if res := e.run(opts()); res.UploadsDeleted != 1 {
		t.Errorf("result %+v, want 1 upload removed", res)
	}
	if _, err := e.reg.UploadStatus(ctx, "app", u.ID); !errors.Is(err, registry.ErrUploadUnknown) {
		t.Errorf("UploadStatus after gc = %v, want unknown", err)
	}
	if r, err := e.blobs.OpenUpload(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
		if r != nil {
			r.Close()
		}
		t.Errorf("staged bytes after gc: %v, want gone", err)
	}
}

func TestLeaseHeldElsewhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.meta.AcquireLease(t.Context(), leaseName, "wharf serve on replica-2", time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.Run(t.Context(), opts())
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "replica-2") {
		t.Fatalf("Run while another holds the lease = %v, want ErrBusy naming replica-2", err)
	}
	// The refused run did not take the lease over.
	if l, err := e.meta.CurrentLease(t.Context(), leaseName); err != nil || l.Holder != "wharf serve on replica-2" {
		t.Errorf("lease = %+v, %v", l, err)
	}
}

// TestLeaseTTL: a run holds the lease for Options.LeaseTTL past its last
// renewal, so that a collector killed mid-run keeps the others out that
// long, and the second collector is told until when.
func TestLeaseTTL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.pushBlob("lease/ttl", "unreferenced")
	e.age()
	other := New(e.meta, e.blobs, nil, "wharf gc")
	o := opts()
	o.LeaseTTL = 5 * time.Second
	var (
		held *metadata.LeaseHeldError
		once sync.Once
	)
	o.Progress = func(Result) {
		once.Do(func() {
			_, err := other.Run(t.Context(), opts())
			if !errors.Is(err, ErrBusy) || !errors.As(err, &held) {
				t.Errorf("a second collection during a run = %v, want ErrBusy with the holder", err)
			}
		})
	}
	start := time.Now()
	if res := e.run(o); res.BlobsDeleted != 1 {
		t.Fatalf("run = %+v, want the unreferenced blob deleted", res)
	}
	if held == nil {
		t.Fatal("the run reported no progress: the lease was never looked at")
	}
	// Taken between start and now, for LeaseTTL: not the default minute.
	if taken := held.Lease.ExpiresAt.Add(-o.LeaseTTL); taken.Before(start) || taken.After(time.Now()) {
		t.Errorf("lease until %s for a run started at %s with lease_ttl %s", held.Lease.ExpiresAt, start, o.LeaseTTL)
	}
	if !strings.Contains(held.Lease.Holder, "test on ") {
		t.Errorf("lease holder %q, want the running collector", held.Lease.Holder)
	}
}

// TestSweepRacesManifestPut is the narrow race: a blob whose manifest PUT
// is in flight while the sweep deletes it. In either order the image ends
// complete, or the PUT is refused as referring to an unknown blob.
func TestSweepRacesManifestPut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		putFirst   bool
		wantRefuse bool
	}{
		{"put commits before the sweep's transaction", true, false},
		{"put arrives while the sweep holds the blob", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := t.Context()
			e.pushBlob("app", "config")
			layer := e.pushBlob("app", "layer")
			img := imagePayload("config", []string{"layer"}, nil)
			put := func() error {
				_, err := e.reg.PutManifest(ctx, "app", "v1", mediaManifest, img.payload, nil)
				return err
			}
			var putErr error
			putDone := make(chan error, 1)
			if tc.putFirst {
				// Before the first of the two blobs is swept.
				var once sync.Once
				e.c.beforeSweep = func(digest.Digest) { once.Do(func() { putErr = put() }) }
			} else {
				e.c.whileLocked = func(d digest.Digest) {
					if d != layer {
						return
					}
					go func() { putDone <- put() }()
					select {
					case err := <-putDone:
						t.Errorf("the PUT finished while the sweep held the blob: %v", err)
						putDone <- err
					case <-time.After(200 * time.Millisecond):
					}
				}
			}
			e.age()
			res := e.run(opts())
			if !tc.putFirst {
				putErr = <-putDone
			}
			if tc.wantRefuse {
				if !errors.Is(putErr, registry.ErrManifestBlobUnknown) {
					t.Fatalf("PUT = %v, want it refused as referring to an unknown blob", putErr)
				}
				e.wantGone(layer)
				return
			}
			if putErr != nil {
				t.Fatalf("PUT = %v", putErr)
			}
			if res.BlobsDeleted != 0 { // both were referred to in time
				t.Errorf("deleted %d blobs, want 0", res.BlobsDeleted)
			}
			e.wantKept(layer)
			if _, err := e.reg.GetManifest(ctx, "app", "v1"); err != nil {
				t.Fatalf("manifest: %v", err)
			}
			b, err := e.reg.OpenBlob(ctx, "app", layer)
			if err != nil {
				t.Fatalf("layer of the pushed image: %v", err)
			}
			b.Close()
		})
	}
}

// TestRunStopsWhenCancelled: a run whose context ends stops, reports why,
// and releases the lease for the next.
func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.pushBlob("app", "loose")
	e.age()
	ctx, cancel := context.WithCancel(t.Context())
	e.c.beforeSweep = func(digest.Digest) { cancel() }
	res, err := e.c.Run(ctx, opts())
	if err == nil || res.Error == "" {
		t.Fatalf("Run after cancel = %+v, %v; want an error", res, err)
	}
	// The lease is released even so.
	if l, err := e.meta.CurrentLease(t.Context(), leaseName); err != nil || l != (metadata.Lease{}) {
		t.Errorf("lease after a cancelled run = %+v, %v", l, err)
	}
	if _, err := e.c.Run(t.Context(), opts()); err != nil {
		t.Errorf("next run: %v", err)
	}
}

// TestReadOnlyRefusesDeletes: while the registry is read-only (in the
// database, for every replica, or in the configuration) a run that would
// delete is refused, naming why; a dry run still reports.
func TestReadOnlyRefusesDeletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	loose := e.pushBlob("app", "loose")
	e.age()
	if err := e.meta.SetReadOnly(t.Context(), true, "backup until 15:00"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Run(t.Context(), opts()); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "backup until 15:00") {
		t.Errorf("Run while read-only = %v, want ErrReadOnly with the reason", err)
	}
	s := NewSchedule(e.c, opts(), 0)
	if _, err := s.Start(t.Context(), false, false); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Schedule.Start while read-only = %v, want ErrReadOnly at once", err)
	}
	o := opts()
	o.DryRun = true
	if res := e.run(o); res.BlobsDeleted != 1 {
		t.Errorf("dry run while read-only: %+v, want 1 blob reported", res)
	}
	e.wantKept(loose)

	if err := e.meta.SetReadOnly(t.Context(), false, ""); err != nil {
		t.Fatal(err)
	}
	o = opts()
	o.ReadOnly = true // read_only: true in wharf.yml
	if _, err := e.c.Run(t.Context(), o); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "configuration") {
		t.Errorf("Run with read_only configured = %v, want ErrReadOnly naming the configuration", err)
	}
	if res := e.run(opts()); res.BlobsDeleted != 1 {
		t.Errorf("after read-only mode: %+v, want the blob collected", res)
	}
	e.wantGone(loose)
}

// TestDeleteUntaggedKeepsWhatWasUsedWithinGrace: --delete-untagged is
// retention's untagged_after rule with gc.grace as its age, so an untagged
// manifest pulled by digest or pushed again within the grace period stays,
// and its blobs with it; one unused since goes.
func TestDeleteUntaggedKeepsWhatWasUsedWithinGrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	unused := e.pushImage("app", "", "config unused", "unused layer")
	pulled := e.pushImage("app", "", "config pulled", "pulled layer")
	repushed := e.pushImage("app", "", "config repushed", "repushed layer")
	time.Sleep(10 * time.Millisecond)
	mid := time.Now()
	time.Sleep(10 * time.Millisecond)
	if _, err := e.reg.ServeManifest(ctx, "app", pulled.digest.String(), true); err != nil { // records the pull
		t.Fatal(err)
	}
	e.putManifest("app", "", mediaManifest, repushed.payload)
	now := time.Now()
	e.c.now = func() time.Time { return now }
	o := opts()
	o.DeleteUntagged, o.Grace = true, now.Sub(mid)
	res := e.run(o)
	if res.ManifestsDeleted != 1 {
		t.Errorf("deleted %d manifests, want 1 (the unused one)", res.ManifestsDeleted)
	}
	if _, err := e.reg.GetManifest(ctx, "app", unused.digest.String()); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Errorf("unused untagged image: %v, want unknown", err)
	}
	e.wantPulls("app", pulled)
	e.wantPulls("app", repushed)
}

// TestSweepCommitsABatchAtATime: garbage blobs go sweepBatch to a
// transaction (one commit each), and orphan files are looked up a page
// at a time, across page boundaries.
func TestSweepCommitsABatchAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	// 2 transactions of at most sweepBatch, where 64 to a transaction took
	// 5 for 300.
	const garbage, orphans, wantTxs = sweepBatch + 44, pageSize + 8, 2
	for i := range garbage {
		if _, err := benchBlob(ctx, e.meta, e.blobs, "app", fmt.Sprintf("loose %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var orphaned []digest.Digest
	for i := range orphans {
		orphaned = append(orphaned, e.orphanFile(fmt.Sprintf("orphan %d", i)))
	}
	kept := e.pushImage("app", "v1", "config", "layer")
	// A transaction calls beforeSweep for each of its blobs, then
	// whileLocked for each once they are deleted: each switch from the
	// first to the second is one transaction.
	var (
		txs    int
		locked bool
	)
	e.c.beforeSweep = func(digest.Digest) { locked = false }
	e.c.whileLocked = func(digest.Digest) {
		if !locked {
			txs++
		}
		locked = true
	}
	e.age()
	res := e.run(opts())
	if res.BlobsDeleted != garbage || res.OrphansDeleted != orphans {
		t.Errorf("result %+v, want %d blobs and %d orphans deleted", res, garbage, orphans)
	}
	if txs != wantTxs {
		t.Errorf("%d blobs deleted in %d transactions, want %d", garbage, txs, wantTxs)
	}
	for _, d := range orphaned {
		e.wantGone(d)
	}
	e.wantPulls("app", kept)
}

// TestExpiredUploadLocksRemoved: the lock row of an upload request whose
// server was killed (taken, never dropped) is removed by the uploads pass
// once it has expired, whether or not its upload is stale; a lock a live
// request holds stays, and a dry run removes nothing.
func TestExpiredUploadLocksRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u, err := e.reg.StartUpload(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	dead, live := uploadLockPrefix+u.ID, uploadLockPrefix+"live"
	for _, l := range []struct {
		name string
		ttl  time.Duration
	}{{dead, time.Millisecond}, {live, time.Hour}, {"job:retention", time.Millisecond}} {
		if ok, err := e.meta.TryLease(ctx, l.name, "request of a killed server", l.ttl); !ok || err != nil {
			t.Fatalf("take %s: %v %v", l.name, ok, err)
		}
	}
	time.Sleep(20 * time.Millisecond) // past the dead lock's expiry
	dry := opts()
	dry.DryRun = true
	if res := e.run(dry); res.UploadLocksDeleted != 0 {
		t.Errorf("a dry run removed %d upload locks", res.UploadLocksDeleted)
	}
	if res := e.run(opts()); res.UploadLocksDeleted != 1 || res.UploadsDeleted != 0 {
		t.Errorf("result %+v, want the one expired upload lock removed and no upload", res)
	}
	if l, err := e.meta.CurrentLease(ctx, live); err != nil || l.Holder == "" {
		t.Errorf("the live request's lock after gc: %+v, %v; want kept", l, err)
	}
	if res := e.run(opts()); res.UploadLocksDeleted != 0 {
		t.Errorf("a second run removed %d upload locks, want 0", res.UploadLocksDeleted)
	}
	// The upload itself goes on: its next request takes a fresh lock.
	if _, err := e.reg.AppendUpload(ctx, "app", u.ID, 0, 5, bytes.NewReader([]byte("12345"))); err != nil {
		t.Errorf("PATCH after its lock was removed: %v", err)
	}
}
