package replicate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// maxReferrerDepth bounds referrers of referrers (a signature of an SBOM
// of an image is depth 2), so that a hostile source cannot loop a copy.
const maxReferrerDepth = 4

// referrers copies what refers to desc, and to each manifest of an index,
// from src to dst: the referrers API's answer (go-containerregistry reads
// the sha256-<hex> fallback tag where the API is missing, and keeps that
// tag on a destination without it), then cosign's sha256-<hex>.sig, .att
// and .sbom tags.
func (c *copier) referrers(ctx context.Context, src, dst name.Repository, desc *remote.Descriptor) error {
	subjects := []v1.Hash{desc.Digest}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return fmt.Errorf("replicate: read %s: %w", desc.Digest, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("replicate: read %s: %w", desc.Digest, err)
		}
		for _, m := range im.Manifests {
			subjects = append(subjects, m.Digest)
		}
	}
	seen := map[v1.Hash]bool{}
	for _, s := range subjects {
		if err := c.referrersOf(ctx, src, dst, s, seen, 0); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) referrersOf(ctx context.Context, src, dst name.Repository, subject v1.Hash, seen map[v1.Hash]bool, depth int) error {
	if depth >= maxReferrerDepth {
		return nil
	}
	idx, err := remote.Referrers(src.Digest(subject.String()), c.srcOpts()...)
	if err != nil && !notFound(err) {
		return fmt.Errorf("replicate: referrers of %s@%s: %w", src, subject, err)
	}
	var found []v1.Descriptor
	if idx != nil {
		im, err := idx.IndexManifest()
		if err != nil {
			return fmt.Errorf("replicate: referrers of %s@%s: %w", src, subject, err)
		}
		found = im.Manifests
	}
	for _, d := range found {
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		rd, err := remote.Get(src.Digest(d.Digest.String()), c.srcOpts()...)
		if err != nil {
			return fmt.Errorf("replicate: read referrer %s of %s: %w", d.Digest, subject, err)
		}
		if err := c.put(ctx, rd, dst.Digest(d.Digest.String())); err != nil {
			return err
		}
		c.countReferrer()
		if err := c.referrersOf(ctx, src, dst, d.Digest, seen, depth+1); err != nil {
			return err
		}
	}
	return c.cosignTags(ctx, src, dst, subject, seen, depth)
}

// cosignTags copies the tags cosign attaches to subject without the
// referrers API: sha256-<hex>.sig, .att, .sbom (any suffix after a dot).
func (c *copier) cosignTags(ctx context.Context, src, dst name.Repository, subject v1.Hash, seen map[v1.Hash]bool, depth int) error {
	tags, err := c.listTags(src)
	if err != nil {
		return err
	}
	prefix := subject.Algorithm + "-" + subject.Hex + "."
	for _, t := range tags {
		if !strings.HasPrefix(t, prefix) {
			continue
		}
		rd, err := remote.Get(src.Tag(t), c.srcOpts()...)
		if err != nil {
			return fmt.Errorf("replicate: read %s:%s: %w", src, t, err)
		}
		if err := c.put(ctx, rd, dst.Tag(t)); err != nil {
			return err
		}
		c.countReferrer()
		if !seen[rd.Digest] {
			seen[rd.Digest] = true
			if err := c.referrersOf(ctx, src, dst, rd.Digest, seen, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// listTags lists src's tags once per copy.
func (c *copier) listTags(src name.Repository) ([]string, error) {
	key := src.String()
	c.mu.Lock()
	tags, ok := c.tags[key]
	c.mu.Unlock()
	if ok {
		return tags, nil
	}
	tags, err := remote.List(src, c.srcOpts()...)
	if err != nil && !notFound(err) {
		return nil, fmt.Errorf("replicate: list the tags of %s: %w", src, err)
	}
	c.mu.Lock()
	c.tags[key] = tags
	c.mu.Unlock()
	return tags, nil
}

func (c *copier) countReferrer() {
	c.mu.Lock()
	c.refs++
	c.mu.Unlock()
}

// notFound is a registry's 404: no referrers, no tags.
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
