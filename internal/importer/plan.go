package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"wharf/internal/metadata"
	"wharf/internal/registry"
)

// maxDepth bounds how deep repository names nest: a name has at most
// registry.MaxNameLength bytes, so at most half as many components.
const maxDepth = registry.MaxNameLength/2 + 1

// maxLinkSize bounds a link file: distribution writes a digest, at most
// "sha512:" and 128 hex digits.
const maxLinkSize = 256

// Plan is what a registry:2 tree holds, read and checked: the work of an
// import, and what --dry-run lists.
type Plan struct {
	Repos []*Repo
	// Blobs are the blobs some repository links, each once.
	Blobs map[digest.Digest]*Blob
	// Problems are the parts of the tree that cannot be imported.
	Problems []Problem
}

// Repo is one repository of the tree.
type Repo struct {
	Name string
	// Layers are the blobs linked in the repository (_layers), in digest
	// order: its layers and configs, and what was pushed or mounted.
	Layers []digest.Digest
	// Manifests are its manifest revisions, untagged ones too, in an order
	// in which every index comes after the manifests it lists.
	Manifests []*Manifest
}

// Tags counts the repository's tags.
func (r *Repo) Tags() int {
	n := 0
	for _, m := range r.Manifests {
		n += len(m.Tags)
	}
	return n
}

// Manifest is one manifest revision of a repository.
type Manifest struct {
	Digest    digest.Digest
	MediaType string
	Size      int64
	// Subject is the manifest it refers to, "" if none: it is listed by
	// the referrers API once imported.
	Subject digest.Digest
	// Tags point at it, sorted.
	Tags []string
	// children are the manifests an index lists.
	children []digest.Digest
	// path is where its bytes are, below v2.
	path string
}

// Blob is a blob of the tree's blob store.
type Blob struct {
	Digest digest.Digest
	Size   int64
	// path is where its bytes are, below v2.
	path string
}

// Problem is a part of the tree that is not imported, and why.
type Problem struct {
	Path    string // absolute, in the tree
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Bytes is the size of every blob of the plan.
func (p *Plan) Bytes() int64 {
	var n int64
	for _, b := range p.Blobs {
		n += b.Size
	}
	return n
}

// Manifests counts the manifests of every repository.
func (p *Plan) Manifests() int {
	n := 0
	for _, r := range p.Repos {
		n += len(r.Manifests)
	}
	return n
}

// Read walks the tree and returns what it holds: every repository (a
// directory of repositories/ with _manifests or _layers, however deeply
// nested), its linked blobs, its manifests (read and verified against
// their digests) and its tags. What cannot be imported is in
// Plan.Problems, each with its path; _uploads (unfinished pushes) is
// ignored. Read writes nothing.
func (s *Source) Read(ctx context.Context) (*Plan, error) {
	p := &Plan{Blobs: map[digest.Digest]*Blob{}}
	w := &walker{s: s, plan: p, missing: map[digest.Digest]bool{}}
	entries, err := s.readDir("repositories")
	if err != nil && !errors.Is(err, errMissing) {
		return nil, fmt.Errorf("importer: %s: %w", s.Path("repositories"), err)
	}
	if err := w.walkNames(ctx, "repositories", nil, entries); err != nil {
		return nil, err
	}
	return p, nil
}

type walker struct {
	s    *Source
	plan *Plan
	// missing are blobs found absent or unreadable, reported once.
	missing map[digest.Digest]bool
}

func (w *walker) problem(rel, format string, args ...any) {
	w.plan.Problems = append(w.plan.Problems, Problem{Path: w.s.Path(rel), Message: fmt.Sprintf(format, args...)})
}

// walkNames visits the directory rel (entries are its contents) whose path
// below repositories/ is parts.
func (w *walker) walkNames(ctx context.Context, rel string, parts []string, entries []fs.DirEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	isRepo := false
	var subdirs []string
	for _, e := range entries {
		child := path.Join(rel, e.Name())
		dir, err := w.s.entryIsDir(child, e)
		if err != nil {
			w.problem(child, "%v", err)
			continue
		}
		if !dir {
			continue
		}
		switch name := e.Name(); {
		case name == "_manifests" || name == "_layers":
			isRepo = true
		case strings.HasPrefix(name, "_"):
			// _uploads: unfinished pushes; nothing else of distribution's
			// starts with "_", which no name component can.
		default:
			subdirs = append(subdirs, name)
		}
	}
	if isRepo {
		w.repo(ctx, rel, strings.Join(parts, "/"))
	}
	if len(subdirs) > 0 && len(parts) >= maxDepth {
		w.problem(rel, "repository names nest deeper than %d levels; the directories below are skipped", maxDepth)
		return nil
	}
	for _, name := range subdirs {
		child := path.Join(rel, name)
		sub, err := w.s.readDir(child)
		if err != nil {
			w.problem(child, "%v", err)
			continue
		}
		if err := w.walkNames(ctx, child, append(slices.Clone(parts), name), sub); err != nil {
			return err
		}
	}
	return nil
}

// repo reads one repository.
func (w *walker) repo(ctx context.Context, rel, name string) {
	if !registry.ValidName(name) {
		w.problem(rel, "%q is not a valid repository name (lowercase letters, digits and separators, at most %d bytes); the repository is skipped",
			name, registry.MaxNameLength)
		return
	}
	r := &Repo{Name: name}
	for _, d := range w.links(path.Join(rel, "_layers")) {
		if w.blob(d.digest, d.rel) {
			r.Layers = append(r.Layers, d.digest)
		}
	}
	byDigest := map[digest.Digest]*Manifest{}
	for _, d := range w.links(path.Join(rel, "_manifests", "revisions")) {
		if ctx.Err() != nil {
			return
		}
		if m := w.manifest(d.digest, d.rel); m != nil {
			byDigest[m.Digest] = m
		}
	}
	w.tags(path.Join(rel, "_manifests", "tags"), byDigest)
	r.Manifests = childrenFirst(byDigest)
	w.plan.Repos = append(w.plan.Repos, r)
}

// linked is a link file's digest and the link's directory.
type linked struct {
	digest digest.Digest
	rel    string
}

// links reads dir/<algorithm>/<hex>/link files, the layout of _layers and
// of _manifests/revisions, in digest order. A directory without its link
// is an entry distribution deleted, not a problem.
func (w *walker) links(dir string) []linked {
	algs, err := w.s.readDir(dir)
	if err != nil {
		if !errors.Is(err, errMissing) {
			w.problem(dir, "%v", err)
		}
		return nil
	}
	var out []linked
	for _, alg := range algs {
		algRel := path.Join(dir, alg.Name())
		hexes, err := w.s.readDir(algRel)
		if err != nil {
			w.problem(algRel, "%v", err)
			continue
		}
		for _, hex := range hexes {
			entry := path.Join(algRel, hex.Name())
			want, err := registry.ParseDigest(alg.Name() + ":" + hex.Name())
			if err != nil {
				w.problem(entry, "not a digest directory (%v); skipped", err)
				continue
			}
			d, ok := w.readLink(path.Join(entry, "link"), want)
			if ok {
				out = append(out, linked{digest: d, rel: entry})
			}
		}
	}
	return out
}

// readLink reads a link file and checks it names want (unless want is "").
// A missing link is skipped silently: distribution deletes a link file,
// not its directory.
func (w *walker) readLink(rel string, want digest.Digest) (digest.Digest, bool) {
	b, err := w.s.readSmall(rel, maxLinkSize)
	if err != nil {
		if !errors.Is(err, errMissing) {
			w.problem(rel, "unreadable link: %v; skipped", err)
		}
		return "", false
	}
	d, err := registry.ParseDigest(string(bytes.TrimSpace(b)))
	if err != nil {
		w.problem(rel, "the link does not hold a digest (%v); skipped", err)
		return "", false
	}
	if want != "" && d != want {
		w.problem(rel, "the link names %s but sits under %s; skipped", d, want)
		return "", false
	}
	return d, true
}

// blob records the blob d of the blob store, reporting once when its
// bytes are missing. linkRel is the link that asked for it.
func (w *walker) blob(d digest.Digest, linkRel string) bool {
	if _, ok := w.plan.Blobs[d]; ok {
		return true
	}
	if w.missing[d] {
		return false
	}
	rel := blobData(string(d.Algorithm()), d.Encoded())
	fi, err := w.s.stat(rel)
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if err != nil {
		w.missing[d] = true
		w.problem(rel, "blob %s (linked by %s): %v; skipped, with the manifests that need it", d, w.s.Path(linkRel), err)
		return false
	}
	w.plan.Blobs[d] = &Blob{Digest: d, Size: fi.Size(), path: rel}
	return true
}

// manifest reads and verifies a manifest revision.
func (w *walker) manifest(d digest.Digest, linkRel string) *Manifest {
	rel := blobData(string(d.Algorithm()), d.Encoded())
	payload, err := w.s.readManifest(rel, d)
	if err != nil {
		w.problem(rel, "manifest %s (revision %s): %v; skipped", d, w.s.Path(linkRel), err)
		return nil
	}
	pm, err := registry.ParseManifest("", payload)
	if err != nil {
		w.problem(rel, "manifest %s (revision %s) does not parse: %v; skipped", d, w.s.Path(linkRel), err)
		return nil
	}
	m := &Manifest{Digest: d, MediaType: pm.MediaType, Size: pm.Size, Subject: pm.Subject, path: rel}
	for _, ref := range pm.Refs {
		if ref.Kind == metadata.RefManifest {
			m.children = append(m.children, ref.Digest)
		}
	}
	return m
}

// readManifest reads a manifest's bytes and verifies their digest.
func (s *Source) readManifest(rel string, d digest.Digest) ([]byte, error) {
	payload, err := s.readSmall(rel, registry.MaxManifestSize)
	if err != nil {
		return nil, err
	}
	if got := d.Algorithm().FromBytes(payload); got != d {
		return nil, fmt.Errorf("its bytes have digest %s: corrupt", got)
	}
	return payload, nil
}

// tags reads tags/<tag>/current/link and attaches each tag to its manifest.
func (w *walker) tags(dir string, byDigest map[digest.Digest]*Manifest) {
	entries, err := w.s.readDir(dir)
	if err != nil {
		if !errors.Is(err, errMissing) {
			w.problem(dir, "%v", err)
		}
		return
	}
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		if !registry.ValidTag(e.Name()) {
			w.problem(rel, "%q is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -); skipped", e.Name())
			continue
		}
		d, ok := w.readLink(path.Join(rel, "current", "link"), "")
		if !ok {
			continue
		}
		m := byDigest[d]
		if m == nil {
			w.problem(rel, "tag %s points at %s, which is not a manifest of the repository that could be read; skipped", e.Name(), d)
			continue
		}
		m.Tags = append(m.Tags, e.Name())
	}
	for _, m := range byDigest {
		sort.Strings(m.Tags)
	}
}

// childrenFirst orders manifests so that an index follows the manifests
// it lists (those of the repository), and otherwise by digest.
func childrenFirst(byDigest map[digest.Digest]*Manifest) []*Manifest {
	digests := make([]digest.Digest, 0, len(byDigest))
	for d := range byDigest {
		digests = append(digests, d)
	}
	slices.Sort(digests)
	var out []*Manifest
	placed := map[digest.Digest]bool{}
	var place func(d digest.Digest, depth int)
	place = func(d digest.Digest, depth int) {
		m := byDigest[d]
		// Digests make cycles impossible; depth bounds a hostile tree all
		// the same.
		if m == nil || placed[d] || depth > len(byDigest) {
			return
		}
		placed[d] = true
		for _, c := range m.children {
			place(c, depth+1)
		}
		out = append(out, m)
	}
	for _, d := range digests {
		place(d, 0)
	}
	return out
}
