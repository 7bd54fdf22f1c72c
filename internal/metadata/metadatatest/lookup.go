package metadatatest

import (
	"bytes"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// testLookupManifest: LookupManifest finds a manifest by tag or digest in
// one query, with or without its payload, and says ErrNotFound for every
// way of missing it (repository, tag, digest in another repository, a
// deleted tag).
func testLookupManifest(t *testing.T, s *metadata.Store) {
	config := addBlob(t, s, "app", "config")
	m := image("app", "v1", config)
	put(t, s, m, "v1")
	other := image("other", "v2")
	put(t, s, other, "v2")

	for _, tc := range []struct {
		name        string
		tag         string
		dgst        digest.Digest
		withPayload bool
	}{
		{"tag with payload", "v1", "", true},
		{"tag without payload", "v1", "", false},
		{"digest with payload", "", m.Digest, true},
		{"digest without payload", "", m.Digest, false},
	} {
		got, err := s.LookupManifest(t.Context(), "app", tc.tag, tc.dgst, tc.withPayload)
		if err != nil {
			t.Fatalf("%s: LookupManifest: %v", tc.name, err)
		}
		if got.Digest != m.Digest || got.MediaType != m.MediaType || got.Size != int64(len(m.Payload)) || got.Repo != "app" {
			t.Errorf("%s: got digest %s, media type %q, size %d, repo %q; want %s, %q, %d, app",
				tc.name, got.Digest, got.MediaType, got.Size, got.Repo, m.Digest, m.MediaType, len(m.Payload))
		}
		if tc.withPayload && !bytes.Equal(got.Payload, m.Payload) {
			t.Errorf("%s: payload differs", tc.name)
		}
		if !tc.withPayload && got.Payload != nil {
			t.Errorf("%s: payload read without being asked for", tc.name)
		}
	}

	for _, tc := range []struct {
		name, repo, tag string
		dgst            digest.Digest
	}{
		{"missing repository by tag", "nope", "v1", ""},
		{"missing repository by digest", "nope", "", m.Digest},
		{"missing tag", "app", "v9", ""},
		{"tag of another repository", "app", "v2", ""},
		{"digest of another repository", "app", "", other.Digest},
	} {
		_, err := s.LookupManifest(t.Context(), tc.repo, tc.tag, tc.dgst, true)
		wantErr(t, "LookupManifest: "+tc.name, err, metadata.ErrNotFound)
	}

	if err := s.DeleteTag(t.Context(), "app", "v1"); err != nil {
		t.Fatal(err)
	}
	_, err := s.LookupManifest(t.Context(), "app", "v1", "", false)
	wantErr(t, "LookupManifest of a deleted tag", err, metadata.ErrNotFound)
	if _, err := s.LookupManifest(t.Context(), "app", "", m.Digest, false); err != nil {
		t.Errorf("LookupManifest by digest after its tag was deleted: %v", err)
	}
}
