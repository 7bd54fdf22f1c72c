package metadatatest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// wantUpload checks that GetUpload returns want.
func wantUpload(t *testing.T, s *metadata.Store, want *metadata.Upload, opts ...cmp.Option) *metadata.Upload {
	t.Helper()
	got, err := s.GetUpload(t.Context(), want.Repo, want.ID)
	if err != nil {
		t.Fatalf("GetUpload(%q, %q): %v", want.Repo, want.ID, err)
	}
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("GetUpload(%q, %q) mismatch (-want +got):\n%s", want.Repo, want.ID, diff)
	}
	return got
}

// wantBetween checks before <= got <= after.
func wantBetween(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.Before(before.Truncate(time.Microsecond)) || got.After(after) {
		t.Errorf("%s = %v, want between %v and %v", what, got, before, after)
	}
}

func testUploadLifecycle(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	u := &metadata.Upload{ID: "upload-1", Repo: "app", Algorithm: digest.SHA256, StartedAt: created, UpdatedAt: created}
	if err := s.CreateUpload(ctx, u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	wantUpload(t, s, u)

	for i, step := range []struct {
		offset int64
		state  []byte
	}{
		{1024, []byte{1, 2, 3}},
		{4096, []byte("larger marshalled hash state")},
	} {
		before := time.Now()
		if err := s.UpdateUpload(ctx, u.ID, step.offset, step.state); err != nil {
			t.Fatalf("UpdateUpload %d: %v", i, err)
		}
		after := time.Now()
		want := *u
		want.Offset, want.HashState = step.offset, step.state
		got := wantUpload(t, s, &want, cmpopts.IgnoreFields(metadata.Upload{}, "UpdatedAt"))
		wantBetween(t, "UpdatedAt", got.UpdatedAt, before, after)
	}

	if err := s.DeleteUpload(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUpload: %v", err)
	}
	_, err := s.GetUpload(ctx, u.Repo, u.ID)
	wantErr(t, "GetUpload after delete", err, metadata.ErrNotFound)
	wantErr(t, "UpdateUpload after delete", s.UpdateUpload(ctx, u.ID, 1, nil), metadata.ErrNotFound)
	if err := s.DeleteUpload(ctx, u.ID); err != nil {
		t.Errorf("DeleteUpload of a deleted upload: %v, want nil", err)
	}
	// The id can be used again.
	if err := s.CreateUpload(ctx, u); err != nil {
		t.Fatalf("CreateUpload after delete: %v", err)
	}
	wantUpload(t, s, u)
}

func testUploadErrors(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	u := &metadata.Upload{ID: "upload-1", Repo: "app", Algorithm: digest.SHA512, Offset: 7, HashState: []byte("state"),
		StartedAt: created, UpdatedAt: created}
	if err := s.CreateUpload(ctx, u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	wantNoRepo(t, s, "app") // an upload alone does not create the repository

	for _, tc := range []struct{ name, repo, id string }{
		{"another repository", "other", u.ID},
		{"unknown id", "app", "upload-2"},
		{"repository prefix", "ap", u.ID},
	} {
		_, err := s.GetUpload(ctx, tc.repo, tc.id)
		wantErr(t, "GetUpload "+tc.name, err, metadata.ErrNotFound)
	}
	wantErr(t, "UpdateUpload unknown id", s.UpdateUpload(ctx, "upload-2", 1, nil), metadata.ErrNotFound)
	if err := s.DeleteUpload(ctx, "upload-2"); err != nil {
		t.Errorf("DeleteUpload unknown id: %v, want nil", err)
	}

	for _, tc := range []struct {
		name string
		u    *metadata.Upload
	}{
		{"duplicate id", &metadata.Upload{ID: u.ID, Repo: "other", Algorithm: digest.SHA256}},
		{"nil upload", nil},
		{"empty id", &metadata.Upload{Repo: "app", Algorithm: digest.SHA256}},
		{"empty repository", &metadata.Upload{ID: "upload-3", Algorithm: digest.SHA256}},
	} {
		if err := s.CreateUpload(ctx, tc.u); err == nil {
			t.Errorf("CreateUpload %s: got nil error", tc.name)
		}
	}
	wantUpload(t, s, u) // the duplicate did not overwrite it
}

func testUploadDefaultTimes(t *testing.T, s *metadata.Store) {
	u := &metadata.Upload{ID: "u", Repo: "app", Algorithm: digest.SHA256}
	before := time.Now()
	if err := s.CreateUpload(t.Context(), u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	after := time.Now()
	if !u.StartedAt.IsZero() || !u.UpdatedAt.IsZero() {
		t.Errorf("CreateUpload modified its argument: %+v", u)
	}
	got := wantUpload(t, s, u, cmpopts.IgnoreFields(metadata.Upload{}, "StartedAt", "UpdatedAt"))
	wantBetween(t, "StartedAt", got.StartedAt, before, after)
	wantBetween(t, "UpdatedAt", got.UpdatedAt, before, after)
}

func testStaleUploads(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	at := func(id, repo string, ago time.Duration) *metadata.Upload {
		return &metadata.Upload{ID: id, Repo: repo, Algorithm: digest.SHA256, StartedAt: now.Add(-3 * time.Hour), UpdatedAt: now.Add(-ago)}
	}
	old, mid, fresh := at("old", "a", 2*time.Hour), at("mid", "b", time.Hour), at("fresh", "a", 0)
	for _, u := range []*metadata.Upload{fresh, old, mid} {
		if err := s.CreateUpload(ctx, u); err != nil {
			t.Fatalf("CreateUpload: %v", err)
		}
	}
	tests := []struct {
		name   string
		before time.Time
		want   []metadata.Upload
	}{
		{"oldest first, across repositories", now.Add(-30 * time.Minute), []metadata.Upload{*old, *mid}},
		{"strictly before", now.Add(-time.Hour), []metadata.Upload{*old}},
		{"none", now.Add(-3 * time.Hour), []metadata.Upload{}},
		{"all", now.Add(time.Minute), []metadata.Upload{*old, *mid, *fresh}},
	}
	check := func(t *testing.T, before time.Time, want []metadata.Upload) {
		t.Helper()
		got, err := s.StaleUploads(ctx, before)
		if err != nil {
			t.Fatalf("StaleUploads: %v", err)
		}
		if got == nil {
			t.Errorf("StaleUploads returned nil, want a non-nil slice")
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("StaleUploads(%v) mismatch (-want +got):\n%s", before, diff)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.before, tc.want) })
	}

	// Progress makes an upload fresh again.
	if err := s.UpdateUpload(ctx, old.ID, 10, nil); err != nil {
		t.Fatalf("UpdateUpload: %v", err)
	}
	check(t, now.Add(-30*time.Minute), []metadata.Upload{*mid})
}
