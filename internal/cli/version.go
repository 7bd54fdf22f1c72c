package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release, set when building:
//
//	go build -ldflags "-X wharf/internal/cli.version=$(git describe --tags --always --dirty)"
//
// as `make build` and `make image` do. A build without it (go build, go
// run) reports the commit Go stamped into the binary instead.
var version string

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

// buildVersion is the version alone (wharf_build_info's label).
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return resolveVersion(version, bi)
}

// versionLine is what `wharf version` and `wharf --version` print after
// "wharf ": the version, the Go release and the platform.
func versionLine() string {
	return fmt.Sprintf("%s %s %s/%s", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// resolveVersion picks the version to report: the one set at build time;
// else the commit Go stamped from the checkout (vcs.revision, with
// "-dirty" when it had uncommitted changes); else the module's version (a
// go install of a release); else "(devel)".
func resolveVersion(set string, bi *debug.BuildInfo) string {
	if set != "" {
		return set
	}
	if bi == nil {
		return "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return rev + dirty
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return "(devel)"
}
