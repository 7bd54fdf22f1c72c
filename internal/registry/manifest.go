package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/metadata"
)

// Manifest media types the registry understands.
const (
	MediaTypeOCIManifest    = v1.MediaTypeImageManifest
	MediaTypeOCIIndex       = v1.MediaTypeImageIndex
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// IsIndex reports whether mediaType is a list of manifests.
func IsIndex(mediaType string) bool {
	return mediaType == MediaTypeOCIIndex || mediaType == MediaTypeDockerList
}

// manifestDoc is the union of the fields of image manifests and indexes.
type manifestDoc struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *v1.Descriptor    `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Manifests     []v1.Descriptor   `json:"manifests"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
	FSLayers      []json.RawMessage `json:"fsLayers"`
}

// ParseManifest validates payload as a manifest of the given Content-Type
// and returns what the store indexes. It never trusts the client: every
// descriptor's digest and size is checked for form.
func ParseManifest(contentType string, payload []byte) (*metadata.Manifest, error) {
	var doc manifestDoc
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrManifestInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrManifestInvalid)
	}
	if doc.FSLayers != nil {
		return nil, fmt.Errorf("%w: Docker schema 1 manifests are not supported; push with a current client (schema 2 or OCI)", ErrManifestInvalid)
	}
	if doc.SchemaVersion == nil || *doc.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: schemaVersion must be 2", ErrManifestInvalid)
	}
	mediaType, err := resolveMediaType(contentType, &doc)
	if err != nil {
		return nil, err
	}
	m := &metadata.Manifest{
		MediaType:    mediaType,
		ArtifactType: doc.ArtifactType,
		Size:         int64(len(payload)),
		Payload:      payload,
		Annotations:  doc.Annotations,
	}
	if doc.Subject != nil {
		if err := checkDescriptor("subject", *doc.Subject); err != nil {
			return nil, err
		}
		m.Subject = doc.Subject.Digest
	}
	if IsIndex(mediaType) {
		if doc.Config != nil || doc.Layers != nil {
			return nil, fmt.Errorf("%w: an index has no config or layers", ErrManifestInvalid)
		}
		if doc.Manifests == nil {
			return nil, fmt.Errorf("%w: an index needs a manifests array", ErrManifestInvalid)
		}
		for i, d := range doc.Manifests {
			if err := checkDescriptor(fmt.Sprintf("manifests[%d]", i), d); err != nil {
				return nil, err
			}
			m.Refs = append(m.Refs, metadata.Ref{Digest: d.Digest, Kind: metadata.RefManifest})
		}
		return m, nil
	}
	if doc.Manifests != nil {
		return nil, fmt.Errorf("%w: an image manifest has no manifests array", ErrManifestInvalid)
	}
	if doc.Config == nil {
		return nil, fmt.Errorf("%w: an image manifest needs a config descriptor", ErrManifestInvalid)
	}
	if err := checkDescriptor("config", *doc.Config); err != nil {
		return nil, err
	}
	if doc.Layers == nil && mediaType == MediaTypeDockerManifest {
		return nil, fmt.Errorf("%w: a Docker image manifest needs a layers array", ErrManifestInvalid)
	}
	if m.ArtifactType == "" {
		m.ArtifactType = doc.Config.MediaType
	}
	m.Refs = append(m.Refs, metadata.Ref{Digest: doc.Config.Digest, Kind: metadata.RefBlob})
	for i, d := range doc.Layers {
		if err := checkDescriptor(fmt.Sprintf("layers[%d]", i), d); err != nil {
			return nil, err
		}
		if nonDistributable(d.MediaType) {
			continue // foreign layers are fetched from their URLs, not from us
		}
		m.Refs = append(m.Refs, metadata.Ref{Digest: d.Digest, Kind: metadata.RefBlob})
	}
	return m, nil
}

// resolveMediaType reconciles the Content-Type header with the payload's own
// mediaType field; when they disagree the manifest is refused rather than
// stored under a type its bytes do not claim.
func resolveMediaType(contentType string, doc *manifestDoc) (string, error) {
	ct := strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])
	mt := doc.MediaType
	switch {
	case mt != "" && ct != "" && ct != mt && ct != "application/json" && ct != "application/octet-stream":
		return "", fmt.Errorf("%w: Content-Type %q does not match the manifest's mediaType %q", ErrManifestInvalid, ct, mt)
	case mt == "" && (ct == "" || ct == "application/json" || ct == "application/octet-stream"):
		// OCI makes mediaType optional: infer it from the shape.
		if doc.Manifests != nil {
			mt = MediaTypeOCIIndex
		} else {
			mt = MediaTypeOCIManifest
		}
	case mt == "":
		mt = ct
	}
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerList:
		return mt, nil
	}
	return "", fmt.Errorf("%w: unsupported manifest media type %q (want an OCI image manifest or index, or a Docker schema 2 manifest or manifest list)", ErrManifestInvalid, mt)
}

func checkDescriptor(where string, d v1.Descriptor) error {
	if _, err := ParseDigest(d.Digest.String()); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrManifestInvalid, where, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("%w: %s: negative size", ErrManifestInvalid, where)
	}
	if d.MediaType == "" {
		return fmt.Errorf("%w: %s: mediaType is required", ErrManifestInvalid, where)
	}
	return nil
}

func nonDistributable(mediaType string) bool {
	return strings.Contains(mediaType, ".nondistributable.") ||
		mediaType == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
}

// digestOf computes payload's digest with alg.
func digestOf(alg digest.Algorithm, payload []byte) digest.Digest {
	return alg.FromBytes(payload)
}
