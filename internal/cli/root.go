package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Run executes the wharf command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "wharf:", err)
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "wharf",
		Short: "A private container registry and its token server in one binary",
		Long: `Wharf is a private container registry (the OCI Distribution API that docker,
podman, containerd, skopeo and crane speak) in one Go binary.

Start it with embedded defaults (blobs on disk, metadata in SQLite, all under
./wharf-data):

  wharf serve`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServe(), newRegistry(), newAuth(), newCerts(), newDoctor(), newHealth(), newVersion(),
		newUser(), newTeam(), newACL(), newToken(), newSession(), newHashPassword(), newImport())
	return root
}
