package registry_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"wharf/internal/registry"
)

// TestFetchBlob checks that fetched bytes become a blob of the repository
// only when they hash to the digest: a mismatch leaves nothing.
func TestFetchBlob(t *testing.T) {
	t.Parallel()
	reg := admittedRegistry(t, nil)
	body := strings.Repeat("layer bytes ", 100000)
	dgst := digest.FromString(body)
	tests := []struct {
		name  string
		src   string
		size  int64
		is    error
		after bool // the blob is in the repository afterwards
	}{
		{"wrong bytes", body[:len(body)-1] + "X", int64(len(body)), registry.ErrDigestInvalid, false},
		{"short", body[:100], int64(len(body)), registry.ErrSizeInvalid, false},
		{"right bytes", body, int64(len(body)), nil, true},
	}
	for _, tc := range tests {
		n, err := reg.FetchBlob(t.Context(), "hub/app", dgst, tc.size, io.NopCloser(strings.NewReader(tc.src)))
		if !errors.Is(err, tc.is) {
			t.Fatalf("%s: FetchBlob = %d, %v; want %v", tc.name, n, err, tc.is)
		}
		size, err := reg.StatBlob(t.Context(), "hub/app", dgst)
		held, herr := reg.HoldsBlob(t.Context(), dgst)
		if herr != nil {
			t.Fatal(herr)
		}
		if (err == nil) != tc.after || held != tc.after {
			t.Errorf("%s: after FetchBlob the blob is linked: %v (%v), held: %v; want %v", tc.name, err == nil, err, held, tc.after)
		}
		if tc.after && size != int64(len(body)) {
			t.Errorf("%s: size %d, want %d", tc.name, size, len(body))
		}
	}
}

// TestPutCachedManifest checks that a manifest from an upstream is stored
// before its blobs, verified against its digest, and that its blobs can
// then be linked from what the registry holds.
func TestPutCachedManifest(t *testing.T) {
	t.Parallel()
	reg := admittedRegistry(t, nil)
	layer := "a layer"
	layerDigest := digest.FromString(layer)
	payload := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digest.FromString("{}").String() + `","size":2},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"` + layerDigest.String() + `","size":7}]}`
	dgst := digest.FromString(payload)
	mt := "application/vnd.oci.image.manifest.v1+json"

	if err := reg.PutCachedManifest(t.Context(), "hub/app", "1", mt, []byte(payload), digest.FromString("other")); !errors.Is(err, registry.ErrDigestInvalid) {
		t.Errorf("a payload that is not its digest: %v; want ErrDigestInvalid", err)
	}
	if err := reg.PutCachedManifest(t.Context(), "hub/app", "1", mt, []byte(payload), dgst); err != nil {
		t.Fatalf("PutCachedManifest without its blobs: %v", err)
	}
	if got, err := reg.LocalManifest(t.Context(), "hub/app", "1"); err != nil || got != dgst {
		t.Errorf("LocalManifest(1) = %s, %v; want %s", got, err, dgst)
	}
	if _, err := reg.LocalManifest(t.Context(), "hub/app", "2"); !errors.Is(err, registry.ErrManifestUnknown) {
		t.Errorf("LocalManifest(2) = %v; want ErrManifestUnknown", err)
	}
	// A push of the same manifest still needs its blobs.
	if _, err := reg.PutManifest(t.Context(), "team/app", "1", mt, []byte(payload), nil); !errors.Is(err, registry.ErrManifestBlobUnknown) {
		t.Errorf("a push without the blobs: %v; want ErrManifestBlobUnknown", err)
	}

	if ok, err := reg.Referenced(t.Context(), "hub/app", layerDigest); err != nil || !ok {
		t.Errorf("Referenced(layer) = %v, %v; want true", ok, err)
	}
	if ok, err := reg.Referenced(t.Context(), "team/app", layerDigest); err != nil || ok {
		t.Errorf("Referenced in another repository = %v, %v; want false", ok, err)
	}
	if _, err := reg.LinkCachedBlob(t.Context(), "hub/app", layerDigest); !errors.Is(err, registry.ErrBlobUnknown) {
		t.Errorf("linking a blob the registry does not hold: %v; want ErrBlobUnknown", err)
	}
	if _, err := reg.FetchBlob(t.Context(), "hub/other", layerDigest, 7, strings.NewReader(layer)); err != nil {
		t.Fatal(err)
	}
	if size, err := reg.LinkCachedBlob(t.Context(), "hub/app", layerDigest); err != nil || size != 7 {
		t.Errorf("LinkCachedBlob = %d, %v; want 7", size, err)
	}
}
