package fsck

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
)

// nodeKey is a manifest: its digest in one repository.
type nodeKey struct {
	repo   string
	digest digest.Digest
}

// node is what a manifest needs to be pulled: the problems of its own
// (indexes into the report) and its index children.
type node struct {
	causes   []int
	children []digest.Digest

	resolved bool
	all      []int // causes, its own and its children's (resolve)
}

// checkManifests checks every manifest's payload and references.
func (c *checker) checkManifests(ctx context.Context) error {
	var after int64
	for {
		ms, err := c.meta.ManifestsAfter(ctx, after, page/5)
		if err != nil {
			return fmt.Errorf("fsck: %w", err)
		}
		for _, m := range ms {
			if err := c.checkManifest(ctx, m); err != nil {
				return err
			}
		}
		if len(ms) < page/5 {
			return nil
		}
		after = ms[len(ms)-1].ID
	}
}

func (c *checker) checkManifest(ctx context.Context, m metadata.StoredManifest) error {
	n := &node{}
	c.nodes[nodeKey{m.Repo, m.Digest}] = n
	c.count(func() { c.rep.Manifests++ })
	_, cached := c.cached[m.Repo]
	problem := func(kind Kind, ref digest.Digest, detail string) {
		if cached && notFetched(kind) {
			c.count(func() { c.rep.NotFetched++ })
			return
		}
		n.causes = append(n.causes, c.add(Problem{Kind: kind, Digest: ref, Repository: m.Repo, Manifest: m.Digest,
			Detail: detail, Repositories: []string{m.Repo}}))
	}
	if err := m.Digest.Validate(); err != nil {
		problem(ManifestDigest, m.Digest, fmt.Sprintf("the row's digest is not valid: %v", err))
	} else if got := m.Digest.Algorithm().FromBytes(m.Payload); got != m.Digest {
		problem(ManifestDigest, m.Digest, fmt.Sprintf("the stored payload hashes to %s", got))
	}
	for _, ref := range m.Refs {
		switch ref.Kind {
		case metadata.RefManifest:
			n.children = append(n.children, ref.Digest)
			ok, err := c.meta.HasManifest(ctx, m.Repo, ref.Digest)
			if err != nil {
				return fmt.Errorf("fsck: %w", err)
			}
			if !ok {
				problem(ChildMissing, ref.Digest, "the index names a manifest the repository does not hold")
			}
		default:
			if err := c.checkBlobRef(ctx, m, ref.Digest, n, problem); err != nil {
				return err
			}
		}
	}
	return nil
}

// notFetched tells the problems that, in a cached repository, only mean
// that no client has pulled that part yet: the cache stores a manifest
// before the blobs and child manifests it names. Bytes that are wrong are
// corruption there as anywhere.
func notFetched(k Kind) bool {
	return k == ReferenceMissing || k == ReferenceUnlink || k == ChildMissing
}

// checkBlobRef checks a config or layer: a blob found bad is that blob's
// problem, which this manifest's repository and tags are added to.
func (c *checker) checkBlobRef(ctx context.Context, m metadata.StoredManifest, ref digest.Digest, n *node,
	problem func(Kind, digest.Digest, string)) error {
	if i, bad := c.bad[ref]; bad {
		n.causes = append(n.causes, i)
		c.rep.Problems[i].Repositories = addUnique(c.rep.Problems[i].Repositories, m.Repo)
		return nil
	}
	if !c.rows[ref] {
		// Not among the rows read: pushed since, or missing.
		if _, err := c.meta.BlobSize(ctx, ref); errors.Is(err, metadata.ErrNotFound) {
			problem(ReferenceMissing, ref, "the manifest refers to a blob the registry does not hold")
			return nil
		} else if err != nil {
			return fmt.Errorf("fsck: %w", err)
		}
	}
	if _, err := c.meta.RepoBlob(ctx, m.Repo, ref); errors.Is(err, metadata.ErrNotFound) {
		problem(ReferenceUnlink, ref, "the manifest refers to a blob its repository does not link")
	} else if err != nil {
		return fmt.Errorf("fsck: %w", err)
	}
	return nil
}

// resolve returns every problem that keeps the manifest from being pulled,
// its children's included. A child the repository lacks is already a cause
// of its parent's.
func (c *checker) resolve(repo string, n *node, depth int) []int {
	if n.resolved || depth > 16 {
		return n.all
	}
	n.resolved = true
	all := append([]int(nil), n.causes...)
	for _, d := range n.children {
		if child := c.nodes[nodeKey{repo, d}]; child != nil {
			all = append(all, c.resolve(repo, child, depth+1)...)
		}
	}
	n.all = all
	return all
}

// unpullable lists the tags that cannot be pulled, with their manifests.
type unpullable struct {
	repo, tag string
	digest    digest.Digest
}

// checkTags reads every tag and adds it to the problems that make its
// manifest unpullable.
func (c *checker) checkTags(ctx context.Context) error {
	var repo, tag string
	for {
		tags, err := c.meta.TagsAfter(ctx, repo, tag, page)
		if err != nil {
			return fmt.Errorf("fsck: %w", err)
		}
		for _, t := range tags {
			c.count(func() { c.rep.Tags++ })
			n := c.nodes[nodeKey{t.Repo, t.Digest}]
			if n == nil {
				continue // pushed since the manifests were read
			}
			causes := c.resolve(t.Repo, n, 0)
			for _, i := range causes {
				p := &c.rep.Problems[i]
				p.Tags = addUnique(p.Tags, t.Repo+":"+t.Tag)
				p.Repositories = addUnique(p.Repositories, t.Repo)
			}
			if len(causes) > 0 {
				c.broken = append(c.broken, unpullable{t.Repo, t.Tag, t.Digest})
			}
		}
		if len(tags) < page {
			return nil
		}
		repo, tag = tags[len(tags)-1].Repo, tags[len(tags)-1].Tag
	}
}
