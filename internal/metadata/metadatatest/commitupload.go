package metadatatest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// testCommitUploadConcurrent: many uploads finishing at once (which the
// store may record in shared transactions) are each recorded — blob, link
// to its repository, session gone — before CommitUpload returns.
func testCommitUploadConcurrent(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	const n = 40
	type up struct {
		id, repo string
		dgst     digest.Digest
	}
	ups := make([]up, n)
	for i := range ups {
		ups[i] = up{id: fmt.Sprintf("upload-%02d", i), repo: fmt.Sprintf("repo-%d", i%5), dgst: digest.FromString(fmt.Sprintf("blob %d", i%30))}
		if err := s.CreateUpload(ctx, &metadata.Upload{ID: ups[i].id, Repo: ups[i].repo, Algorithm: digest.SHA256}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, u := range ups {
		wg.Go(func() { errs[i] = s.CommitUpload(ctx, u.id, u.repo, u.dgst, int64(100+i%30)) })
	}
	wg.Wait()
	for i, u := range ups {
		if errs[i] != nil {
			t.Fatalf("CommitUpload(%s): %v", u.id, errs[i])
		}
		if size, err := s.RepoBlob(ctx, u.repo, u.dgst); err != nil || size != int64(100+i%30) {
			t.Errorf("RepoBlob(%s, %s) = %d, %v; want %d", u.repo, u.dgst, size, err, 100+i%30)
		}
		_, err := s.GetUpload(ctx, u.repo, u.id)
		wantErr(t, "GetUpload after CommitUpload", err, metadata.ErrNotFound)
	}
	// Invalid input is refused before it reaches a shared transaction.
	if err := s.CommitUpload(ctx, "bad", "", digest.FromString("x"), 1); err == nil {
		t.Error("CommitUpload with an empty repository name succeeded")
	}
}

// testBatchedWritesFailAlone: manifests and uploads arriving together (which
// the store may write in one shared transaction) succeed or fail each on
// their own: a manifest naming an unknown blob gets its
// *MissingReferenceError, and every other write of the moment is recorded.
func testBatchedWritesFailAlone(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	const n = 24
	for round := range 3 {
		errs := make([]error, n)
		ms := make([]*metadata.Manifest, n)
		var wg sync.WaitGroup
		for i := range n {
			repo := fmt.Sprintf("batch-%d-%d", round, i%4)
			switch i % 3 {
			case 0: // a manifest whose blob was never pushed
				ms[i] = image(repo, fmt.Sprintf("bad %d %d", round, i), digest.FromString(fmt.Sprintf("missing %d %d", round, i)))
				wg.Go(func() { errs[i] = s.PutManifest(ctx, ms[i], []string{fmt.Sprintf("bad-%d", i)}) })
			case 1: // a good manifest
				b := addBlob(t, s, repo, fmt.Sprintf("layer %d %d", round, i))
				ms[i] = image(repo, fmt.Sprintf("good %d %d", round, i), b)
				wg.Go(func() { errs[i] = s.PutManifest(ctx, ms[i], []string{fmt.Sprintf("good-%d", i)}) })
			default: // an upload finishing
				id := fmt.Sprintf("batch-upload-%d-%d", round, i)
				if err := s.CreateUpload(ctx, &metadata.Upload{ID: id, Repo: repo, Algorithm: digest.SHA256}); err != nil {
					t.Fatal(err)
				}
				d := digest.FromString(id)
				wg.Go(func() { errs[i] = s.CommitUpload(ctx, id, repo, d, 7) })
			}
		}
		wg.Wait()
		for i := range n {
			repo := fmt.Sprintf("batch-%d-%d", round, i%4)
			switch i % 3 {
			case 0:
				wantErr(t, "PutManifest with an unknown blob", errs[i], metadata.ErrMissingReference)
				wantNoManifest(t, s, repo, ms[i].Digest)
			case 1:
				if errs[i] != nil {
					t.Fatalf("PutManifest(%s) beside failing writes: %v", repo, errs[i])
				}
				wantResolve(t, s, repo, fmt.Sprintf("good-%d", i), ms[i].Digest)
			default:
				if errs[i] != nil {
					t.Fatalf("CommitUpload beside failing writes: %v", errs[i])
				}
				wantBlob(t, s, repo, digest.FromString(fmt.Sprintf("batch-upload-%d-%d", round, i)), 7)
			}
		}
	}
}
