package storagecopy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/storage"
	"wharf/internal/storage/filesystem"
)

// put commits b as a blob of d and returns its digest.
func put(t *testing.T, d storage.Driver, b []byte) digest.Digest {
	t.Helper()
	ctx := context.Background()
	dgst := digest.FromBytes(b)
	w, err := d.Upload(ctx, "test-upload-"+dgst.Encoded()[:16], -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	return dgst
}

// source makes a filesystem storage holding n random blobs of different
// sizes and returns it with the blobs' bytes by digest.
func source(t *testing.T, n int) (*Storage, map[digest.Digest][]byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	d, err := filesystem.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[digest.Digest][]byte{}
	for i := range n {
		b := make([]byte, 1000+i*4099)
		_, _ = rand.Read(b)
		blobs[put(t, d, b)] = b
	}
	s, err := Open(context.Background(), "filesystem:"+dir, Source)
	if err != nil {
		t.Fatal(err)
	}
	return s, blobs
}

func destination(t *testing.T) *Storage {
	t.Helper()
	s, err := Open(context.Background(), "filesystem:"+filepath.Join(t.TempDir(), "new", "blobs"), Destination)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// holds checks that d holds exactly blobs, each with its bytes, and
// nothing staged.
func holds(t *testing.T, d storage.Driver, blobs map[digest.Digest][]byte) {
	t.Helper()
	ctx := context.Background()
	n := 0
	err := d.(storage.Lister).Walk(ctx, func(dgst digest.Digest, size int64) error {
		n++
		want, ok := blobs[dgst]
		if !ok {
			t.Errorf("destination holds %s, which the source does not", dgst)
			return nil
		}
		b, err := d.Open(ctx, dgst)
		if err != nil {
			return err
		}
		defer b.Close()
		var got bytes.Buffer
		if _, err := got.ReadFrom(b); err != nil {
			return err
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("destination's %s has other bytes", dgst)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(blobs) {
		t.Errorf("destination holds %d blobs, want %d", n, len(blobs))
	}
	ids, err := d.(uploader).UploadIDs(ctx)
	if err != nil || len(ids) != 0 {
		t.Errorf("destination has staged uploads %v (%v), want none", ids, err)
	}
}

// damage flips a byte in the middle of one of blobs as s holds it (same
// size, other bytes) and returns its digest.
func damage(t *testing.T, s *Storage, blobs map[digest.Digest][]byte) digest.Digest {
	t.Helper()
	var victim digest.Digest
	for d := range blobs {
		victim = d
		break
	}
	root := s.Driver.(*filesystem.Driver).Root()
	p := filepath.Join(root, "blobs", string(victim.Algorithm()), victim.Encoded()[:2], victim.Encoded())
	damaged := bytes.Clone(blobs[victim])
	damaged[len(damaged)/2] ^= 0xff
	if err := os.WriteFile(p, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	return victim
}

func TestCopyAndResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, blobs := source(t, 12)
	dst := destination(t)

	rep, err := Copy(ctx, src, dst, Options{Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 12 || rep.Copied != 12 || rep.Present != 0 || len(rep.Failed) != 0 {
		t.Errorf("first run: %+v, want 12 copied", rep)
	}
	holds(t, dst.Driver, blobs)

	// A second run copies nothing: every blob is read back and found good.
	rep, err = Copy(ctx, src, dst, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 0 || rep.Present != 12 || rep.PresentBytes != rep.Bytes {
		t.Errorf("second run: %+v, want 12 present", rep)
	}
}

// TestCopyVerifiesWhatIsPresent damages the destination's copy of one blob
// (same size, other bytes) and leaves a killed run's staged upload behind:
// the next run replaces the blob rather than trust its name, and drops the
// staged bytes.
func TestCopyVerifiesWhatIsPresent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, blobs := source(t, 4)
	dst := destination(t)
	if _, err := Copy(ctx, src, dst, Options{Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	victim := damage(t, dst, blobs)
	// What a run killed half way through copying the victim leaves.
	w, err := dst.Driver.Upload(ctx, uploadID(victim), -1)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(blobs[victim][:100])
	_ = w.Close()

	rep, err := Copy(ctx, src, dst, Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 1 || rep.Replaced != 1 || rep.Present != 3 {
		t.Errorf("report %+v, want 1 copied (replaced) and 3 present", rep)
	}
	holds(t, dst.Driver, blobs)
}

// TestCopyRefusesDamagedSource: a source blob whose bytes are not its
// digest is reported and never committed at the destination; the others
// are copied.
func TestCopyRefusesDamagedSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, blobs := source(t, 3)
	victim := damage(t, src, blobs)
	dst := destination(t)
	rep, err := Copy(ctx, src, dst, Options{Jobs: 2})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err %v, want ErrFailed", err)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Digest != victim || !strings.Contains(rep.Failed[0].Error, "wharf fsck") {
		t.Errorf("failed %+v, want %s with the fix", rep.Failed, victim)
	}
	if _, err := dst.Driver.Stat(ctx, victim); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("damaged blob at the destination: %v", err)
	}
	delete(blobs, victim)
	holds(t, dst.Driver, blobs)
}

// TestDryRunWritesNothing: a dry run to a storage that does not exist
// creates nothing and counts every blob as to copy.
func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, _ := source(t, 5)
	dir := filepath.Join(t.TempDir(), "new")
	dst, err := Open(ctx, "filesystem:"+dir, Preview)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Copy(ctx, src, dst, Options{Jobs: 2, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Copied != 5 || rep.CopiedBytes != rep.Bytes || !rep.DryRun {
		t.Errorf("report %+v, want 5 to copy", rep)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run created %s (%v)", dir, err)
	}
}

func TestOpenSpecs(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if _, err := filesystem.New(filepath.Join(data, "blobs")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, spec string
		role       Role
		want       error
		says       string
	}{
		{"no kind", "/srv/wharf/blobs", Source, ErrSpec, "want KIND:ARG"},
		{"unknown kind", "gcs:bucket", Source, ErrSpec, `unknown storage kind "gcs"`},
		{"s3 without a bucket", "s3:/prefix", Destination, ErrSpec, "names no bucket"},
		{"s3 unknown option", "s3:bucket?endpiont=http://127.0.0.1:1", Destination, ErrSpec, `unknown option "endpiont"`},
		{"s3 endpoint without a scheme", "s3:bucket?endpoint=127.0.0.1:9000", Destination, ErrSpec, "want http://HOST[:PORT]"},
		{"s3 pathstyle not a bool", "s3:bucket?endpoint=http://127.0.0.1:1&pathstyle=maybe", Destination, ErrSpec, "want true or false"},
		{"s3 option twice", "s3:bucket?region=a&region=b", Destination, ErrSpec, "gives region 2 times"},
		{"data directory", "filesystem:" + data, Source, ErrSpec, "its storage is filesystem:" + filepath.Join(data, "blobs")},
		{"missing source", "filesystem:" + filepath.Join(data, "nope"), Source, ErrAbsent, "no blobs/ directory"},
		{"storage root", "filesystem:" + filepath.Join(data, "blobs"), Source, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(context.Background(), tc.spec, tc.role)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Open(%q) = %v, want %v saying %q", tc.spec, err, tc.want, tc.says)
			}
		})
	}
}

// TestCopySkipsVanished: a blob deleted at the source between the listing
// and its copy (garbage collection beside a running server) is counted,
// not failed.
func TestCopySkipsVanished(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, blobs := source(t, 3)
	var victim digest.Digest
	for d := range blobs {
		victim = d
		break
	}
	gone := &deletingSource{Driver: src.Driver, victim: victim}
	rep, err := Copy(ctx, &Storage{Spec: src.Spec, Driver: gone}, destination(t), Options{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Vanished != 1 || rep.Copied != 2 || len(rep.Failed) != 0 {
		t.Errorf("report %+v, want 1 vanished and 2 copied", rep)
	}
}

// deletingSource deletes victim right after listing it, as garbage
// collection would between the walk and the copy.
type deletingSource struct {
	storage.Driver
	victim digest.Digest
}

func (d *deletingSource) Walk(ctx context.Context, fn func(digest.Digest, int64) error) error {
	err := d.Driver.(storage.Lister).Walk(ctx, fn)
	if err == nil {
		err = d.Driver.Delete(ctx, d.victim)
	}
	return err
}

// TestCopyGoesOnFromStagedBytes: what a killed run staged for a blob is
// hashed and kept, and the copy goes on from there; staged bytes that are
// not the blob's are dropped and the blob copied from its first byte.
func TestCopyGoesOnFromStagedBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		staged      func(b []byte) []byte
		wantResumed int64
	}{
		{"the blob's first half", func(b []byte) []byte { return b[:len(b)/2] }, 1},
		{"other bytes", func(b []byte) []byte { return bytes.Repeat([]byte{'x'}, len(b)/2) }, 0},
		{"more than the blob", func(b []byte) []byte { return append(bytes.Clone(b), "trailing"...) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, blobs := source(t, 2)
			dst := destination(t)
			var victim digest.Digest
			for d := range blobs {
				victim = d
				break
			}
			w, err := dst.Driver.Upload(ctx, uploadID(victim), -1)
			if err != nil {
				t.Fatal(err)
			}
			staged := tc.staged(blobs[victim])
			if _, err := w.Write(staged); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			rep, err := Copy(ctx, src, dst, Options{Jobs: 1})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Copied != 2 || rep.Resumed != tc.wantResumed || len(rep.Failed) != 0 {
				t.Errorf("report %+v, want 2 copied, %d resumed", rep, tc.wantResumed)
			}
			if tc.wantResumed > 0 && rep.ResumedBytes != min(int64(len(staged)), int64(len(blobs[victim]))) {
				t.Errorf("resumed %d bytes, %d were staged", rep.ResumedBytes, len(staged))
			}
			holds(t, dst.Driver, blobs)
		})
	}
}

// TestCopyDropsLeftoverUploads: a run killed after it committed a blob but
// before it removed that blob's upload (what S3 leaves, where the two are
// separate objects) left the upload staged; the next run finds the blob
// present and drops the upload, while the upload of a blob still missing
// is kept and resumed from.
func TestCopyDropsLeftoverUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, blobs := source(t, 4)
	dst := destination(t)
	if _, err := Copy(ctx, src, dst, Options{Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	var leftover digest.Digest
	for d := range blobs {
		leftover = d
		break
	}
	w, err := dst.Driver.Upload(ctx, uploadID(leftover), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(blobs[leftover][:100]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Copy(ctx, src, dst, Options{Jobs: 2})
	if err != nil || rep.Present != 4 || rep.Copied != 0 {
		t.Fatalf("report %+v (%v), want 4 present", rep, err)
	}
	holds(t, dst.Driver, blobs) // and nothing staged
}
