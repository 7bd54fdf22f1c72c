package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"wharf/internal/metadata"
	"wharf/internal/registry"
)

func newRepo() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{
		Use:   "repo",
		Short: "List the registry's repositories with their sizes, or delete them",
		Long: `List and delete repositories in the server's database. The commands read
their settings as wharf serve does (--config, --data, --database-driver,
--database-dsn and every WHARF_* variable), also while it runs.

Sizes are deduplicated: a repository's is the distinct blobs its manifests
refer to plus the manifests; a namespace's (--namespaces) counts a layer
its repositories share once. Usage against quotas: wharf quota ls.`,
		Args: cobra.NoArgs,
	}
	f.register(cmd)
	cmd.AddCommand(newRepoLs(&f), newRepoRm(&f))
	return cmd
}

func newRepoLs(f *accountFlags) *cobra.Command {
	var namespaces bool
	cmd := &cobra.Command{
		Use:   "ls [PREFIX]",
		Short: "List repositories (or, with --namespaces, namespaces) with tags, manifests, size and last push",
		Args:  cobra.MaximumNArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			out := cmd.OutOrStdout()
			if namespaces {
				list, err := env.store.NamespaceStats(cmd.Context(), prefix)
				if err != nil {
					return err
				}
				if f.json {
					return writeJSON(out, list)
				}
				t := newTable(out, "NAMESPACE", "REPOSITORIES", "TAGS", "MANIFESTS", "SIZE", "LAST PUSH")
				for _, n := range list {
					t.row(n.Namespace, itoa(n.Repositories), itoa(n.Tags), itoa(n.Manifests), humanize.IBytes(uint64(n.Bytes)), when(n.LastPush, "-"))
				}
				return t.flush()
			}
			list, err := env.store.RepositoryStats(cmd.Context(), prefix, "", 0)
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(out, list)
			}
			t := newTable(out, "REPOSITORY", "TAGS", "MANIFESTS", "SIZE", "LAST PUSH")
			for _, r := range list {
				t.row(r.Name, itoa(r.Tags), itoa(r.Manifests), humanize.IBytes(uint64(r.Bytes)), when(r.LastPush, "-"))
			}
			return t.flush()
		}),
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	cmd.Flags().BoolVar(&namespaces, "namespaces", false, "one line per namespace (the first path component, team/ for team/app), shared layers counted once")
	return cmd
}

func newRepoRm(f *accountFlags) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "rm REPO...",
		Short: "Delete repositories: every tag, manifest and blob link (blobs are left to garbage collection)",
		Long: `Delete repositories with all their tags, manifests and blob links. Pulls
of them then fail with MANIFEST_UNKNOWN. The blobs stay in storage, where
other repositories may use them: garbage collection removes those that
nothing refers to any more.

Asks for confirmation on a terminal; elsewhere (scripts) --yes is required.

  wharf repo rm team/old --yes`,
		Args: cobra.MinimumNArgs(1),
		RunE: f.with(func(cmd *cobra.Command, args []string, env *accountEnv) error {
			for _, repo := range args {
				if !registry.ValidName(repo) {
					return fmt.Errorf("%q is not a repository name (lower-case path components such as team/app); nothing deleted", repo)
				}
			}
			if !yes {
				ok, err := confirm(cmd, fmt.Sprintf("Delete %s with all their tags and manifests?", strings.Join(args, ", ")))
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("nothing deleted")
				}
			}
			var errs []error
			out := cmd.OutOrStdout()
			for _, repo := range args {
				d, err := env.store.DeleteRepository(cmd.Context(), repo)
				if errors.Is(err, metadata.ErrNotFound) {
					err = errors.New("no such repository")
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", repo, err))
					continue
				}
				fmt.Fprintf(out, "deleted %s: %d tags, %d manifests, %d blob links\n", repo, d.Tags, d.Manifests, d.BlobLinks)
			}
			if len(errs) < len(args) {
				fmt.Fprintln(out, "the blobs stay in storage until garbage collection removes those no repository uses")
			}
			return errors.Join(errs...)
		}),
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking (required when there is no terminal)")
	return cmd
}

// confirm asks question on the terminal and reports whether the answer was
// yes. Without a terminal it refuses: a script must say --yes.
func confirm(cmd *cobra.Command, question string) (bool, error) {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return false, errors.New("no terminal to confirm on; add --yes to delete; nothing deleted")
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	line, err := bufio.NewReader(io.LimitReader(in, 64)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("reading the answer: %w", err)
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
