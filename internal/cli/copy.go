package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"wharf/internal/progress"
	"wharf/internal/replicate"
)

func newCopy() *cobra.Command {
	var (
		asJSON, noReferrers, insecure bool
		srcAuth, dstAuth              string
		jobs                          int
	)
	cmd := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy an image, every platform of it and its signatures and SBOMs, from one registry to another",
		Long: `Copy SRC (HOST/REPO:TAG or HOST/REPO@sha256:…) to DST (HOST/REPO[:TAG]) between
any two registries: Wharf, distribution, Docker Hub, any OCI registry. An
index is copied with every platform it lists; every manifest copied brings
its referrers (signatures, SBOMs: the referrers API, its sha256-<hex> tag
fallback, and cosign's sha256-<hex>.sig/.att/.sbom tags).

The destination is asked for each blob before it is sent, so that a copy
run again after an interruption sends only what is missing; within one
registry blobs are mounted instead of sent. Every blob read is checked
against its digest, and the destination must answer the source's digest.

Credentials come from docker's config.json ($DOCKER_CONFIG, then
~/.docker/config.json, with its credential helpers), as docker login writes
them, or from the files --src-authfile and --dst-authfile name (the same
format). They are never taken on the command line, and never printed.`,
		Example: `  wharf copy registry.example.com/team/app:1.4 localhost:5000/team/app:1.4
  wharf copy --dst-authfile dst.json docker.io/library/alpine:3.20 wharf.example.com/hub/alpine:3.20
  wharf copy --json src.example.com/app@sha256:… dst.example.com/app`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var nameOpts []name.Option
			if insecure {
				nameOpts = append(nameOpts, name.Insecure)
			}
			src, err := name.ParseReference(args[0], nameOpts...)
			if err != nil {
				return fmt.Errorf("copy: SRC %q is not an image reference (HOST/REPO:TAG or HOST/REPO@sha256:…): %w", args[0], err)
			}
			dst, err := parseDestination(args[1], src, nameOpts)
			if err != nil {
				return err
			}
			srcKeys, err := replicate.AuthFile(srcAuth)
			if err != nil {
				return fmt.Errorf("copy: --src-authfile: %w", err)
			}
			dstKeys, err := replicate.AuthFile(dstAuth)
			if err != nil {
				return fmt.Errorf("copy: --dst-authfile: %w", err)
			}
			stderr := cmd.ErrOrStderr()
			line := progress.New(stderr, terminal(stderr) != nil, 2*time.Second, "copy", "copying")
			var p replicate.Progress
			line.Start(func() string {
				return fmt.Sprintf("%s of %s", humanize.IBytes(uint64(p.Done)), humanize.IBytes(uint64(p.Total)))
			})
			res, err := replicate.Copy(cmd.Context(), src, dst, replicate.Options{
				SrcAuth: srcKeys, DstAuth: dstKeys, NoReferrers: noReferrers, Jobs: jobs,
				Progress: func(np replicate.Progress) { line.Update(func() { p = np }) },
				Log:      slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			})
			line.Finish()
			if err != nil {
				if errors.Is(err, replicate.ErrDigestMismatch) {
					return fmt.Errorf("copy: %w; the destination changed the manifest, or another writer raced this copy: run it again", err)
				}
				return fmt.Errorf("copy: %s to %s: %w (running the same command again sends only what is missing)", src, dst, err)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), struct {
					Source      string `json:"source"`
					Destination string `json:"destination"`
					replicate.Result
				}{src.String(), dst.String(), res})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "copied %s to %s (%s): %d manifests (%d referrers), %d blobs sent (%s), %d mounted, %d already there\n",
				src, dst, res.Digest, res.Manifests, res.Referrers, res.BlobsSent, humanize.IBytes(uint64(res.Bytes)), res.BlobsMounted, res.BlobsSkipped)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&noReferrers, "no-referrers", false, "copy the image only, without signatures, SBOMs or other referrers")
	f.BoolVar(&insecure, "insecure", false, "speak plain HTTP to both registries (loopback and private addresses already may)")
	f.StringVar(&srcAuth, "src-authfile", "", "docker config.json holding the source's credentials (default: docker's own)")
	f.StringVar(&dstAuth, "dst-authfile", "", "docker config.json holding the destination's credentials (default: docker's own)")
	f.IntVar(&jobs, "jobs", 4, "blobs sent at once")
	return cmd
}

// parseDestination parses DST; a repository without a tag or digest takes
// the source's.
func parseDestination(arg string, src name.Reference, opts []name.Option) (name.Reference, error) {
	if repo, err := name.NewRepository(arg, opts...); err == nil {
		if d, ok := src.(name.Digest); ok {
			return repo.Digest(d.DigestStr()), nil
		}
		return repo.Tag(src.Identifier()), nil
	}
	dst, err := name.ParseReference(arg, append(opts, name.StrictValidation)...)
	if err != nil {
		return nil, fmt.Errorf("copy: DST %q is not an image reference (HOST/REPO[:TAG]): %w", arg, err)
	}
	return dst, nil
}
