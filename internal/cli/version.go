package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"wharf/internal/buildinfo"
)

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of wharf (as --version does)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "wharf "+versionLine())
			return nil
		},
	}
}

// versionLine is what `wharf version` and `wharf --version` print after
// "wharf ": the version (buildinfo's), the Go release and the platform.
func versionLine() string {
	return fmt.Sprintf("%s %s %s/%s", buildinfo.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
