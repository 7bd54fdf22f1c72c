package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/registry"
	"wharf/internal/storage"
)

// Options tune an import.
type Options struct {
	// Link hard-links blobs into wharf's blob store instead of copying
	// them, where the filesystem allows (the same one, permission to
	// link); elsewhere they are copied.
	Link bool
	// MaxRate bounds the bytes read from the tree per second (0: none).
	MaxRate int64
}

// Target is the wharf an import writes into.
type Target struct {
	Registry *registry.Registry
	Blobs    storage.Driver
}

// Summary is what an import did.
type Summary struct {
	Repositories, Tags int
	// TagsKept point elsewhere in wharf than in the tree (a push to wharf
	// since): they are left as wharf has them.
	TagsKept                             int
	Manifests, ManifestsThere            int
	BlobsCopied, BlobsLinked, BlobsThere int
	// Bytes were copied or linked (blobs wharf already held excluded).
	Bytes int64
	// StagedRemoved are uploads a killed import had left staged.
	StagedRemoved int
	Problems      []Problem
	Elapsed       time.Duration
	// Interrupted is set when the context ended first.
	Interrupted bool
}

// ErrProblems is returned when the import finished but skipped parts of
// the tree (Summary.Problems lists them).
var ErrProblems = errors.New("importer: parts of the tree were not imported")

type importer struct {
	src      *Source
	blobs    storage.Driver
	reg      *registry.Registry
	opts     Options
	pace     *pacer
	progress *Progress
	sum      *Summary
	// done are the blobs whose bytes wharf holds, failed those skipped.
	done, failed map[digest.Digest]bool
	linkNoted    bool
}

// Import writes what plan found in src into t. Running it again after an
// interruption (Ctrl-C, a kill) finishes the job: blobs wharf holds and
// manifests whose tags already point at them are skipped and counted as
// already there. The problems of the plan, and those found while copying
// (a corrupt blob, a manifest whose blobs were skipped), are reported on
// progress and in the summary, and make the error ErrProblems; an error
// of wharf's side (storage, database) stops the import at once.
func Import(ctx context.Context, src *Source, plan *Plan, t Target, opts Options, progress *Progress) (*Summary, error) {
	begin := time.Now()
	sum := &Summary{}
	im := &importer{src: src, blobs: t.Blobs, reg: t.Registry, opts: opts, pace: newPacer(opts.MaxRate),
		progress: progress, sum: sum, done: map[digest.Digest]bool{}, failed: map[digest.Digest]bool{}}
	for _, p := range plan.Problems {
		im.problem(p)
	}
	var err error
	if sum.StagedRemoved, err = sweepStaged(ctx, t.Blobs); err != nil {
		return sum, err
	}
	progress.start(counts{repos: len(plan.Repos), manifests: plan.Manifests(), blobs: len(plan.Blobs), bytes: plan.Bytes()})
	for _, r := range plan.Repos {
		if err = im.repo(ctx, plan, r); err != nil {
			break
		}
		sum.Repositories++
		progress.repoDone(r.Name)
	}
	progress.finish()
	sum.Elapsed = time.Since(begin)
	if ctx.Err() != nil {
		sum.Interrupted = true
		return sum, ctx.Err()
	}
	if err != nil {
		return sum, err
	}
	if len(sum.Problems) > 0 {
		return sum, ErrProblems
	}
	return sum, nil
}

func (im *importer) problem(p Problem) {
	im.sum.Problems = append(im.sum.Problems, p)
	im.progress.Note("skipped: " + p.String())
}

// repo imports one repository: its linked blobs, then its manifests,
// children before the indexes that list them, each with its tags.
func (im *importer) repo(ctx context.Context, plan *Plan, r *Repo) error {
	for _, d := range r.Layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := plan.Blobs[d]
		if !im.done[d] && !im.failed[d] {
			out, err := im.putBytes(ctx, b)
			var se sourceError
			if errors.As(err, &se) {
				im.failed[d] = true
				im.progress.add(0, 1)
				im.problem(Problem{Path: im.src.Path(b.path), Message: fmt.Sprintf("blob %s: %v; skipped, with the manifests that need it", d, se.error)})
				continue
			}
			if err != nil {
				return err
			}
			im.count(out, b.Size)
			im.done[d] = true
		}
		if im.failed[d] {
			continue
		}
		if _, err := im.reg.AddBlob(ctx, r.Name, d); err != nil {
			return fmt.Errorf("importer: %s: %w", r.Name, err)
		}
	}
	for _, m := range r.Manifests {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := im.manifest(ctx, r, m); err != nil {
			return err
		}
		im.progress.add(1, 0)
	}
	return nil
}

func (im *importer) count(out outcome, size int64) {
	switch out {
	case outcomeThere:
		im.sum.BlobsThere++
		// Done all the same: the byte counter reaches its total.
		im.progress.AddBytes(size)
	case outcomeCopied:
		im.sum.BlobsCopied++
		im.sum.Bytes += size
	case outcomeLinked:
		im.sum.BlobsLinked++
		im.sum.Bytes += size
	}
	im.progress.add(0, 1)
}

// manifest stores one manifest with its tags, unless wharf has it with
// those tags already. A tag wharf has pointing at another manifest is left
// as it is: it was pushed to wharf since (the tree cannot have moved it
// half-way: a manifest and its tags are stored in one transaction), and
// the import must not undo a push.
func (im *importer) manifest(ctx context.Context, r *Repo, m *Manifest) error {
	have, err := im.points(ctx, r.Name, m.Digest.String(), m.Digest)
	if err != nil {
		return err
	}
	var tags []string
	for _, tag := range m.Tags {
		there, err := im.points(ctx, r.Name, tag, m.Digest)
		var other otherManifest
		switch {
		case errors.As(err, &other):
			im.sum.TagsKept++
			im.progress.Note(fmt.Sprintf("kept: tag %s of %s points at %s in wharf, at %s in the tree: left as wharf has it, since a push to wharf moved it",
				tag, r.Name, other.Digest, m.Digest))
		case err != nil:
			return err
		case !there:
			tags = append(tags, tag)
		default:
			im.sum.Tags++
		}
	}
	if have && len(tags) == 0 {
		im.sum.ManifestsThere++
		return nil
	}
	payload, err := im.src.readManifest(m.path, m.Digest)
	if err != nil {
		im.problem(Problem{Path: im.src.Path(m.path), Message: fmt.Sprintf("manifest %s of %s: %v; skipped", m.Digest, r.Name, err)})
		return nil
	}
	_, err = im.reg.PutManifest(ctx, r.Name, m.Digest.String(), "", payload, tags)
	if errors.Is(err, registry.ErrManifestBlobUnknown) || errors.Is(err, registry.ErrManifestInvalid) {
		msg := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "registry: "), "; push it first")
		im.problem(Problem{Path: im.src.Path(m.path), Message: fmt.Sprintf("manifest %s of %s%s not imported: %s "+
			"(a blob or manifest it needs was skipped above, or is not linked in the repository)", m.Digest, r.Name, tagList(m.Tags), msg)})
		return nil
	}
	if err != nil {
		return fmt.Errorf("importer: %s@%s: %w", r.Name, m.Digest, err)
	}
	if have {
		im.sum.ManifestsThere++
	} else {
		im.sum.Manifests++
	}
	im.sum.Tags += len(tags)
	return nil
}

// otherManifest is a tag of wharf's that points at Digest, another
// manifest than the tree's.
type otherManifest struct{ Digest digest.Digest }

func (o otherManifest) Error() string { return "importer: the tag points at " + o.Digest.String() }

// points reports whether ref (a tag or a digest) of repo is d in wharf:
// false when wharf does not know ref, otherManifest when it is another.
func (im *importer) points(ctx context.Context, repo, ref string, d digest.Digest) (bool, error) {
	got, err := im.reg.ServeManifest(ctx, repo, ref, false)
	if errors.Is(err, registry.ErrManifestUnknown) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("importer: %s: %w", repo, err)
	}
	if got.Digest != d {
		return false, otherManifest{Digest: got.Digest}
	}
	return true, nil
}

func tagList(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return " (" + plural(len(tags), "tag") + ": " + strings.Join(tags, ", ") + ")"
}

// WriteSummary writes what an import did, for the operator.
func WriteSummary(w io.Writer, s *Summary, from, into string) {
	verb := "imported"
	if s.Interrupted {
		verb = "interrupted importing"
	}
	fmt.Fprintf(w, "%s %s into %s in %s:\n", verb, from, into, s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  repositories  %d\n", s.Repositories)
	if s.TagsKept > 0 {
		fmt.Fprintf(w, "  tags          %d, and %d left as wharf has them (listed above)\n", s.Tags, s.TagsKept)
	} else {
		fmt.Fprintf(w, "  tags          %d\n", s.Tags)
	}
	fmt.Fprintf(w, "  manifests     %d imported, %d already there\n", s.Manifests, s.ManifestsThere)
	fmt.Fprintf(w, "  blobs         %d copied, %d linked, %d already there\n", s.BlobsCopied, s.BlobsLinked, s.BlobsThere)
	fmt.Fprintf(w, "  bytes         %s (%d)\n", humanBytes(s.Bytes), s.Bytes)
	if s.StagedRemoved > 0 {
		fmt.Fprintf(w, "  cleaned       %d staged copies an interrupted import had left\n", s.StagedRemoved)
	}
	fmt.Fprintf(w, "  problems      %d\n", len(s.Problems))
	switch {
	case s.Interrupted:
		fmt.Fprintln(w, "What is finished is kept: run the same command again to finish the import.")
	case len(s.Problems) > 0:
		fmt.Fprintln(w, "The problems above were skipped and are not in wharf; everything else is. Fix them in the tree and run the same command again to import them.")
	}
}

// WritePlan lists what an import of plan would do (--dry-run).
func WritePlan(w io.Writer, p *Plan) {
	for _, r := range p.Repos {
		var size int64
		for _, d := range r.Layers {
			size += p.Blobs[d].Size
		}
		fmt.Fprintf(w, "%s: %s, %s, %s (%s)\n", r.Name, plural(r.Tags(), "tag"), plural(len(r.Manifests), "manifest"),
			plural(len(r.Layers), "blob"), humanBytes(size))
		for _, m := range r.Manifests {
			var notes []string
			if len(m.Tags) > 0 {
				notes = append(notes, "tags "+strings.Join(m.Tags, ", "))
			} else {
				notes = append(notes, "untagged")
			}
			if m.Subject != "" {
				notes = append(notes, "refers to "+m.Subject.String())
			}
			fmt.Fprintf(w, "  %s %s (%s)\n", m.Digest, m.MediaType, strings.Join(notes, "; "))
		}
	}
	tags := 0
	for _, r := range p.Repos {
		tags += r.Tags()
	}
	fmt.Fprintf(w, "would import %s, %s, %s, %s (%s); %s\n", plural(len(p.Repos), "repository", "repositories"), plural(tags, "tag"),
		plural(p.Manifests(), "manifest"), plural(len(p.Blobs), "blob"), humanBytes(p.Bytes()), plural(len(p.Problems), "problem"))
	for _, pr := range p.Problems {
		fmt.Fprintf(w, "problem: %s\n", pr)
	}
}
