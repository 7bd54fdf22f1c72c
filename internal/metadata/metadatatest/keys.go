package metadatatest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// These cases pin down what SQLite does without being asked and server
// databases do only when the columns are declared with care: keys compared
// byte for byte (no case folding, no trailing-space padding, no Unicode
// normalization), sorted in byte order, and as long as the specifications
// allow.

// exactKeys are distinct keys that a case-insensitive, padding or
// normalizing collation would merge.
var exactKeys = []string{"a", "a ", "a-b", "a/b", "a0", "e\u0301", "z", "\u00e9", "\u00e9 "}

func testKeysByteExact(t *testing.T, s *metadata.Store) {
	// Tags: one manifest each, so that a merge would show as a wrong digest.
	byTag := map[string]digest.Digest{}
	for i, tag := range exactKeys {
		byTag[tag] = pushImage(t, s, "app", fmt.Sprintf("image %d", i), tag).Digest
	}
	for tag, d := range byTag {
		wantResolve(t, s, "app", tag, d)
	}
	wantTags(t, s, "app", slices.Sorted(slices.Values(exactKeys)))
	for _, tag := range []string{"A", "Z", "a  ", "e", "E\u0301", "\u00c9"} {
		_, err := s.ResolveTag(t.Context(), "app", tag)
		wantErr(t, fmt.Sprintf("ResolveTag(%q)", tag), err, metadata.ErrNotFound)
	}
	got, err := s.ListTags(t.Context(), "app", "a", 2)
	if diff := cmp.Diff([]string{"a ", "a-b"}, got); err != nil || diff != "" {
		t.Errorf("ListTags(last=%q, 2): %v, mismatch (-want +got):\n%s", "a", err, diff)
	}

	// Repositories: distinct, and the catalog lists them in byte order.
	for _, repo := range exactKeys {
		pushImage(t, s, "r/"+repo, "img", "latest")
	}
	want := make([]string, len(exactKeys))
	for i, k := range exactKeys {
		want[i] = "r/" + k
	}
	repos, err := s.ListRepositories(t.Context(), "", 0)
	if err != nil {
		t.Fatalf("ListRepositories: %v", err)
	}
	want = append(want, "app")
	slices.Sort(want)
	if diff := cmp.Diff(want, repos); diff != "" {
		t.Errorf("ListRepositories mismatch (-want +got):\n%s", diff)
	}
}

// testListRepositoriesLast pages through a catalog whose names interleave
// separators, digits and letters, with last set to every name and to names
// between them.
func testListRepositoriesLast(t *testing.T, s *metadata.Store) {
	names := []string{"a", "a-b", "a.b", "a/b", "a/b/c", "a0", "a_b", "ab", "b", "library/alpine", "z"}
	for _, n := range names {
		pushImage(t, s, n, "img", "latest")
	}
	for _, n := range []int{1, 2, 3, len(names)} {
		var got []string
		last := ""
		for range len(names) + 1 {
			page, err := s.ListRepositories(t.Context(), last, n)
			if err != nil {
				t.Fatalf("ListRepositories(last=%q, n=%d): %v", last, n, err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			last = page[len(page)-1]
		}
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("ListRepositories by pages of %d mismatch (-want +got):\n%s", n, diff)
		}
	}
	for _, tc := range []struct {
		last string
		want []string
	}{
		{"a/", []string{"a/b", "a/b/c"}},
		{"a/b/", []string{"a/b/c", "a0"}},
		{"a.", []string{"a.b", "a/b"}},
		{"library", []string{"library/alpine", "z"}},
		{"library/alpine", []string{"z"}},
		{"zz", []string{}},
	} {
		got, err := s.ListRepositories(t.Context(), tc.last, 2)
		if diff := cmp.Diff(tc.want, got); err != nil || diff != "" {
			t.Errorf("ListRepositories(last=%q, 2): %v, mismatch (-want +got):\n%s", tc.last, err, diff)
		}
	}
}

// testLongKeys stores keys as long as the specifications allow and refuses
// longer ones with ErrInvalidKey, writing nothing.
func testLongKeys(t *testing.T, s *metadata.Store) {
	ctx := t.Context()
	longRepo := strings.Repeat("r", 120) + "/" + strings.Repeat("n", metadata.MaxKeyLength-121)
	if len(longRepo) != metadata.MaxKeyLength {
		t.Fatalf("fixture: repository name of %d bytes", len(longRepo))
	}
	longTag := strings.Repeat("t", 128) // the OCI tag grammar's limit
	longestTag := strings.Repeat("T", metadata.MaxKeyLength)
	m := pushImage(t, s, longRepo, "img", longTag, longestTag)
	wantResolve(t, s, longRepo, longTag, m.Digest)
	wantResolve(t, s, longRepo, longestTag, m.Digest)
	wantTags(t, s, longRepo, []string{longestTag, longTag})
	repos, err := s.ListRepositories(ctx, "", 0)
	if err != nil || len(repos) != 1 || repos[0] != longRepo {
		t.Errorf("ListRepositories = %q, %v; want the long name", repos, err)
	}

	// sha512 digests are the longest the registry accepts.
	payload := []byte(`{"schemaVersion":2,"name":"sha512"}`)
	layer := digest.SHA512.FromString("sha512 layer")
	if err := s.AddBlob(ctx, longRepo, layer, 12); err != nil {
		t.Fatalf("AddBlob(sha512): %v", err)
	}
	m512 := &metadata.Manifest{Repo: longRepo, Digest: digest.SHA512.FromBytes(payload), MediaType: mediaManifest,
		Size: int64(len(payload)), Payload: payload, CreatedAt: created, Subject: m.Digest,
		Refs: []metadata.Ref{{Digest: layer, Kind: metadata.RefBlob}}}
	put(t, s, m512, "sha512")
	wantManifest(t, s, m512)

	tooLong := strings.Repeat("x", metadata.MaxKeyLength+1)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"repository name", s.PutManifest(ctx, image(tooLong, "img"), []string{"v1"})},
		{"tag", s.PutManifest(ctx, image("fresh", "img"), []string{"v1", tooLong})},
		{"blob repository", s.AddBlob(ctx, tooLong, digest.FromString("x"), 1)},
		{"upload repository", s.CreateUpload(ctx, &metadata.Upload{ID: "u1", Repo: tooLong, Algorithm: digest.SHA256})},
		{"upload id", s.CreateUpload(ctx, &metadata.Upload{ID: tooLong, Repo: "fresh", Algorithm: digest.SHA256})},
		{"mount target", func() error { _, err := s.LinkBlob(ctx, tooLong, longRepo, layer); return err }()},
		{"refresh token account", s.CreateRefreshToken(ctx, "token", metadata.RefreshToken{Account: tooLong})},
		{"invalid UTF-8 tag", s.PutManifest(ctx, image("fresh", "img"), []string{"v\xff"})},
		{"NUL in a tag", s.PutManifest(ctx, image("fresh", "img"), []string{"v\x00"})},
	} {
		wantErr(t, tc.name, tc.err, metadata.ErrInvalidKey)
		if tc.err != nil && !strings.Contains(tc.err.Error(), "bytes long") && !strings.Contains(tc.err.Error(), "UTF-8") &&
			!strings.Contains(tc.err.Error(), "NUL") {
			t.Errorf("%s: error %q does not say what is wrong", tc.name, tc.err)
		}
	}
	wantNoRepo(t, s, "fresh")
	wantNoRepo(t, s, tooLong)
	_, err = s.ResolveTag(ctx, longRepo, tooLong) // a look-up is not an error, just not found
	wantErr(t, "ResolveTag of a too long tag", err, metadata.ErrNotFound)
}

// testConcurrentSameManifest pushes one manifest with one tag from every
// writer at once into a repository that does not exist yet: the upserts
// of the same rows race.
func testConcurrentSameManifest(t *testing.T, s *metadata.Store) {
	layer := addBlob(t, s, "seed", "layer")
	m := image("same", "img", layer)
	noErrors(t, "AddBlob then PutManifest", race(func(int) error {
		if err := s.AddBlob(t.Context(), "same", layer, 5); err != nil {
			return err
		}
		return s.PutManifest(t.Context(), m, []string{"latest"})
	}))
	wantManifest(t, s, m)
	wantTags(t, s, "same", []string{"latest"})
	wantResolve(t, s, "same", "latest", m.Digest)
}
