package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"wharf/internal/metadata"
	"wharf/internal/registry"
)

func newTag() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "tag",
		Short: "Manage the tags of the registry's repositories",
		Long: `Manage tags in the server's database. The commands read their settings as
wharf serve does (--config, --data, --database-driver, --database-dsn and
every WHARF_* variable), also while it runs.`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	cmd.AddCommand(newTagRm(&f))
	return cmd
}

func newTagRm(f *accountFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rm REPO:TAG...",
		Short: "Remove tags; their manifests stay, pullable by digest",
		Long: `Remove tags. The manifests they pointed at stay in the repository, pullable
by digest, until their repository or they themselves are deleted.

  wharf tag rm team/app:v1 team/app:v2`,
		Args: cobra.MinimumNArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			var errs []error
			for _, arg := range args {
				repo, tag, err := splitRepoTag(arg)
				if err == nil {
					err = env.store.DeleteTag(cmd.Context(), repo, tag)
				}
				if errors.Is(err, metadata.ErrNotFound) {
					err = errors.New("no such tag")
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", arg, err))
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "untagged %s:%s\n", repo, tag)
			}
			return errors.Join(errs...)
		}),
	}
}

// splitRepoTag splits REPO:TAG at the last colon.
func splitRepoTag(s string) (repo, tag string, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Contains(s[i:], "/") {
		return "", "", fmt.Errorf("%q is not REPO:TAG (for example team/app:v1)", s)
	}
	repo, tag = s[:i], s[i+1:]
	if !registry.ValidName(repo) {
		return "", "", fmt.Errorf("%q is not a repository name (lower-case path components such as team/app)", repo)
	}
	if !registry.ValidTag(tag) {
		return "", "", fmt.Errorf("%q is not a tag (up to 128 of A-Z a-z 0-9 _ . -, not starting with . or -)", tag)
	}
	return repo, tag, nil
}
