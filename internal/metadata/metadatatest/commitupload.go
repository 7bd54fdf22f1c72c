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
