package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/metadata"
)

// maxConfig bounds the config blob a page reads: configs are a few KiB;
// a larger "config" is some artifact's payload, not an image's.
const maxConfig = 4 << 20

// parsed is a manifest as the pages show it. Docker's schema 2 manifests
// and lists have the OCI shapes, so one decoding reads both.
type parsed struct {
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Size         int64
	IsIndex      bool
	// Config and Layers of an image manifest; Children of an index.
	Config   ocispec.Descriptor
	Layers   []ocispec.Descriptor
	Children []ocispec.Descriptor
	Subject  *ocispec.Descriptor
	Created  time.Time
}

// CompressedSize is what a pull downloads: an image's config and layers
// (as compressed in the registry), or, for an index, its own payload.
func (p *parsed) CompressedSize() int64 {
	if p.IsIndex {
		return p.Size
	}
	n := p.Config.Size
	for _, l := range p.Layers {
		n += l.Size
	}
	return n
}

// Platforms names the platforms of an index's children ("linux/amd64").
func (p *parsed) Platforms() []string {
	var out []string
	for _, c := range p.Children {
		if c.Platform != nil {
			out = append(out, platformString(c.Platform))
		}
	}
	return out
}

func platformString(pl *ocispec.Platform) string {
	s := pl.OS + "/" + pl.Architecture
	if pl.Variant != "" {
		s += "/" + pl.Variant
	}
	return s
}

// parseManifest decodes m's payload. A payload that is neither an image
// manifest nor an index shows its descriptor alone.
func parseManifest(m *metadata.Manifest) *parsed {
	p := &parsed{Digest: m.Digest, MediaType: m.MediaType, ArtifactType: m.ArtifactType, Size: m.Size, Created: m.CreatedAt}
	var raw struct {
		MediaType string               `json:"mediaType"`
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
		Manifests []ocispec.Descriptor `json:"manifests"`
		Subject   *ocispec.Descriptor  `json:"subject"`
	}
	if json.Unmarshal(m.Payload, &raw) != nil {
		return p
	}
	p.Subject = raw.Subject
	if raw.Config == nil && raw.Manifests != nil {
		p.IsIndex = true
		p.Children = raw.Manifests
		return p
	}
	if raw.Config != nil {
		p.Config = *raw.Config
	}
	p.Layers = raw.Layers
	return p
}

// imageConfig is the part of an image's config the manifest page shows.
type imageConfig struct {
	Platform   string
	Created    *time.Time
	Env        []string
	Entrypoint []string
	Cmd        []string
	WorkingDir string
	User       string
	Labels     []keyValue
	History    []ocispec.History
}

type keyValue struct{ Key, Value string }

// isImageConfig reports whether a config media type is an image's (OCI
// or Docker's), whose JSON the page may decode.
func isImageConfig(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageConfig || mediaType == "application/vnd.docker.container.image.v1+json"
}

// readConfig reads and decodes an image's config blob, through the
// registry as a pull would.
func (u *UI) readConfig(ctx context.Context, repo string, d ocispec.Descriptor) (*imageConfig, error) {
	if d.Size > maxConfig {
		return nil, fmt.Errorf("ui: config %s is %d bytes, more than the %d a page reads", d.Digest, d.Size, maxConfig)
	}
	b, err := u.cfg.Registry.OpenBlob(ctx, repo, d.Digest)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	data, err := io.ReadAll(io.LimitReader(b, maxConfig+1))
	if err != nil {
		return nil, fmt.Errorf("ui: read config %s: %w", d.Digest, err)
	}
	var img ocispec.Image
	if err := json.Unmarshal(data, &img); err != nil {
		return nil, fmt.Errorf("ui: config %s: %w", d.Digest, err)
	}
	c := &imageConfig{Platform: platformString(&img.Platform), Created: img.Created, Env: img.Config.Env,
		Entrypoint: img.Config.Entrypoint, Cmd: img.Config.Cmd, WorkingDir: img.Config.WorkingDir, User: img.Config.User,
		History: img.History}
	for k, v := range img.Config.Labels {
		c.Labels = append(c.Labels, keyValue{k, v})
	}
	sort.Slice(c.Labels, func(i, j int) bool { return c.Labels[i].Key < c.Labels[j].Key })
	return c, nil
}
