package metadatatest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// writers is how many goroutines race in the concurrency tests.
const writers = 16

// race runs fn(i) for i in [0, writers) at the same moment and returns their
// errors.
func race(fn func(i int) error) []error {
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// noErrors fails the test for every non-nil error, e.g. "database is locked".
func noErrors(t *testing.T, what string, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s, writer %d: %v", what, i, err)
		}
	}
}

func testConcurrentPutSameTag(t *testing.T, s *metadata.Store) {
	// A repository that does not exist yet: creating it races too.
	ms := make([]*metadata.Manifest, writers)
	for i := range ms {
		ms[i] = image("race", fmt.Sprintf("racer %d", i))
	}
	noErrors(t, "PutManifest", race(func(i int) error {
		return s.PutManifest(t.Context(), ms[i], []string{"latest", fmt.Sprintf("racer-%02d", i)})
	}))

	winner, err := s.ResolveTag(t.Context(), "race", "latest")
	if err != nil {
		t.Fatalf("ResolveTag(latest): %v", err)
	}
	if !slices.ContainsFunc(ms, func(m *metadata.Manifest) bool { return m.Digest == winner }) {
		t.Errorf("latest points at %s, which no writer pushed", winner)
	}
	want := []string{"latest"}
	for i, m := range ms {
		wantManifest(t, s, m) // every manifest is stored, winner or not
		tag := fmt.Sprintf("racer-%02d", i)
		wantResolve(t, s, "race", tag, m.Digest)
		want = append(want, tag)
	}
	wantTags(t, s, "race", want)
	repos, err := s.ListRepositories(t.Context(), "", 0)
	if diff := cmp.Diff([]string{"race"}, repos); err != nil || diff != "" {
		t.Errorf("ListRepositories: %v, mismatch (-want +got):\n%s", err, diff)
	}
}

func testConcurrentAddBlob(t *testing.T, s *metadata.Store) {
	const content = "the same layer"
	d := digest.FromString(content)
	size := int64(len(content))
	noErrors(t, "AddBlob into one repository", race(func(int) error {
		return s.AddBlob(t.Context(), "one", d, size)
	}))
	noErrors(t, "AddBlob into many repositories", race(func(i int) error {
		return s.AddBlob(t.Context(), fmt.Sprintf("many/%02d", i), d, size)
	}))
	noErrors(t, "LinkBlob", race(func(i int) error {
		got, err := s.LinkBlob(t.Context(), fmt.Sprintf("mounted/%02d", i), "one", d)
		if err == nil && got != size {
			err = fmt.Errorf("size %d, want %d", got, size)
		}
		return err
	}))
	wantBlob(t, s, "one", d, size)
	for i := range writers {
		wantBlob(t, s, fmt.Sprintf("many/%02d", i), d, size)
		wantBlob(t, s, fmt.Sprintf("mounted/%02d", i), d, size)
	}
	// One unlink removes the one link, however many writers added it.
	if err := s.UnlinkBlob(t.Context(), "one", d); err != nil {
		t.Fatalf("UnlinkBlob: %v", err)
	}
	wantNoBlob(t, s, "one", d)
}

// testConcurrentMixedWrites interleaves every kind of write with reads, the
// way a busy registry does.
func testConcurrentMixedWrites(t *testing.T, s *metadata.Store) {
	const repos = 4
	pushed := make([]*metadata.Manifest, writers)
	noErrors(t, "push", race(func(i int) error {
		ctx := t.Context()
		repo := fmt.Sprintf("repo-%d", i%repos)
		id := fmt.Sprintf("upload-%02d", i)
		if err := s.CreateUpload(ctx, &metadata.Upload{ID: id, Repo: repo, Algorithm: digest.SHA256}); err != nil {
			return err
		}
		if err := s.UpdateUpload(ctx, id, 5, []byte("state")); err != nil {
			return err
		}
		content := fmt.Sprintf("layer %d", i)
		d := digest.FromString(content)
		if err := s.AddBlob(ctx, repo, d, int64(len(content))); err != nil {
			return err
		}
		if err := s.DeleteUpload(ctx, id); err != nil {
			return err
		}
		m := image(repo, fmt.Sprintf("image %d", i), d)
		if err := s.PutManifest(ctx, m, []string{fmt.Sprintf("v%02d", i), "latest"}); err != nil {
			return err
		}
		pushed[i] = m
		if _, err := s.ListTags(ctx, repo, "", 0); err != nil {
			return err
		}
		if _, _, err := s.Referrers(ctx, repo, m.Digest, metadata.ReferrersPage{}); err != nil {
			return err
		}
		return s.DeleteTag(ctx, repo, fmt.Sprintf("v%02d", i))
	}))
	if t.Failed() {
		return
	}
	for i, m := range pushed {
		wantManifest(t, s, m)
		_, err := s.ResolveTag(t.Context(), m.Repo, fmt.Sprintf("v%02d", i))
		wantErr(t, "ResolveTag of a deleted tag", err, metadata.ErrNotFound)
	}
	for r := range repos {
		wantTags(t, s, fmt.Sprintf("repo-%d", r), []string{"latest"})
	}
	left, err := s.StaleUploads(t.Context(), created.AddDate(100, 0, 0))
	if err != nil || len(left) != 0 {
		t.Errorf("StaleUploads = %v, %v; want every upload deleted", left, err)
	}
}

// testConcurrentDeletes races transactions that read before they write
// (DeleteManifest looks the manifest up first) against each other and
// against pushes. On SQLite this is what fails with "database is locked"
// when transactions do not take the write lock at BEGIN.
func testConcurrentDeletes(t *testing.T, s *metadata.Store) {
	old := make([]*metadata.Manifest, writers)
	for i := range old {
		old[i] = pushImage(t, s, "app", fmt.Sprintf("old %d", i), fmt.Sprintf("v%02d", i))
	}
	replacement := make([]*metadata.Manifest, writers)
	noErrors(t, "delete and push", race(func(i int) error {
		ctx := t.Context()
		if err := s.DeleteManifest(ctx, "app", old[i].Digest); err != nil {
			return err
		}
		m := image("app", fmt.Sprintf("new %d", i), old[i].Refs[0].Digest)
		if err := s.PutManifest(ctx, m, []string{fmt.Sprintf("v%02d", i)}); err != nil {
			return err
		}
		replacement[i] = m
		return s.DeleteTag(ctx, "app", fmt.Sprintf("v%02d", i))
	}))
	if t.Failed() {
		return
	}
	for i := range writers {
		wantNoManifest(t, s, "app", old[i].Digest)
		wantManifest(t, s, replacement[i])
	}
	wantTags(t, s, "app", []string{})
}

// testConcurrentCreateSameName races creations of one user name and of one
// team name: exactly one of each wins, the others get ErrExists, never a
// driver's unique-violation error.
func testConcurrentCreateSameName(t *testing.T, s *metadata.Store) {
	for _, c := range []struct {
		what   string
		create func(i int) error
	}{
		{"CreateUser", func(i int) error {
			return s.CreateUser(t.Context(), metadata.User{Name: "twin", PasswordHash: fmt.Sprintf("hash %d", i)})
		}},
		{"CreateTeam", func(int) error { return s.CreateTeam(t.Context(), "twins") }},
	} {
		won := 0
		for i, err := range race(c.create) {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, metadata.ErrExists):
				t.Errorf("%s, writer %d: %v; want nil or ErrExists", c.what, i, err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d writers created the same name; want 1", c.what, won)
		}
	}
}
