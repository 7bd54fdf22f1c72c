package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/metadata"
)

var (
	dA = "sha256:" + strings.Repeat("a", 64)
	dB = "sha256:" + strings.Repeat("b", 64)
	dC = "sha256:" + strings.Repeat("c", 64)
)

func TestParseManifest(t *testing.T) {
	t.Parallel()
	image := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
		"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + dA + `","size":2},
		"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + dB + `","size":3},
		          {"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip","digest":"` + dC + `","size":4}],
		"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + dC + `","size":5},
		"annotations":{"k":"v"}}`
	index := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","artifactType":"x/y",
		"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + dA + `","size":2}]}`
	tests := []struct {
		name        string
		contentType string
		payload     string
		wantErr     error
		wantType    string
		wantRefs    []metadata.Ref
		wantArt     string
		wantSubject string
	}{
		{"oci image", "application/vnd.oci.image.manifest.v1+json", image, nil, MediaTypeOCIManifest,
			[]metadata.Ref{{Digest: dg(dA), Kind: metadata.RefBlob}, {Digest: dg(dB), Kind: metadata.RefBlob}},
			"application/vnd.oci.image.config.v1+json", dC},
		{"oci index", "application/vnd.oci.image.index.v1+json", index, nil, MediaTypeOCIIndex,
			[]metadata.Ref{{Digest: dg(dA), Kind: metadata.RefManifest}}, "x/y", ""},
		{"media type inferred", "", `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + dA + `","size":1},"layers":[]}`,
			nil, MediaTypeOCIManifest, []metadata.Ref{{Digest: dg(dA), Kind: metadata.RefBlob}}, "a/b", ""},
		{"content type mismatch", "application/vnd.oci.image.index.v1+json", image, ErrManifestInvalid, "", nil, "", ""},
		{"not json", "application/vnd.oci.image.manifest.v1+json", "{", ErrManifestInvalid, "", nil, "", ""},
		{"trailing data", "", `{"schemaVersion":2,"manifests":[]} x`, ErrManifestInvalid, "", nil, "", ""},
		{"schema 1", "", `{"schemaVersion":1,"fsLayers":[]}`, ErrManifestInvalid, "", nil, "", ""},
		{"no schema version", "", `{"manifests":[]}`, ErrManifestInvalid, "", nil, "", ""},
		{"unknown media type", "application/x-thing", `{"schemaVersion":2}`, ErrManifestInvalid, "", nil, "", ""},
		{"image without config", MediaTypeOCIManifest, `{"schemaVersion":2,"layers":[]}`, ErrManifestInvalid, "", nil, "", ""},
		{"bad layer digest", MediaTypeOCIManifest, `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + dA + `","size":1},"layers":[{"mediaType":"a/b","digest":"sha256:zz","size":1}]}`, ErrManifestInvalid, "", nil, "", ""},
		{"negative size", MediaTypeOCIManifest, `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + dA + `","size":-1}}`, ErrManifestInvalid, "", nil, "", ""},
		{"index with layers", MediaTypeOCIIndex, `{"schemaVersion":2,"manifests":[],"layers":[]}`, ErrManifestInvalid, "", nil, "", ""},
		{"docker manifest without layers", MediaTypeDockerManifest, `{"schemaVersion":2,"mediaType":"` + MediaTypeDockerManifest + `","config":{"mediaType":"a/b","digest":"` + dA + `","size":1}}`, ErrManifestInvalid, "", nil, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := ParseManifest(tc.contentType, []byte(tc.payload))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != tc.wantType || m.ArtifactType != tc.wantArt || m.Subject.String() != tc.wantSubject {
				t.Errorf("got type %q artifact %q subject %q", m.MediaType, m.ArtifactType, m.Subject)
			}
			if diff := cmp.Diff(tc.wantRefs, m.Refs); diff != "" {
				t.Errorf("refs (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add("application/vnd.oci.image.manifest.v1+json", `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"`+dA+`","size":1},"layers":[]}`)
	f.Add("", `{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"`+dA+`","size":1}]}`)
	f.Add("application/json", `[]`)
	f.Fuzz(func(t *testing.T, ct, payload string) {
		m, err := ParseManifest(ct, []byte(payload))
		if err != nil {
			if !errors.Is(err, ErrManifestInvalid) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		for _, r := range m.Refs {
			if r.Digest.Validate() != nil {
				t.Fatalf("accepted invalid reference %q", r.Digest)
			}
		}
	})
}
