package cli

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"wharf/internal/config"
	"wharf/internal/config/resolve"
)

// resolveConfig is how every command reads its configuration: the flags
// named here that the user gave, the environment and the file, merged by
// resolve for role and validated once. notes receives the foreign readers'
// remarks (wharf registry, wharf auth); nil discards them.
func resolveConfig(cmd *cobra.Command, role string, notes io.Writer, flags ...string) (config.Config, error) {
	given := map[string]string{}
	for _, name := range flags {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			given[name] = f.Value.String()
		}
	}
	return resolveGiven(role, given, notes)
}

// resolveGiven is resolveConfig with the flags already picked, by the name
// resolve knows them by.
func resolveGiven(role string, given map[string]string, notes io.Writer) (config.Config, error) {
	in := resolve.Input{Role: role, Flags: given, Environ: os.Environ()}
	if notes != nil {
		in.Log = newLogger(notes, config.Log{Level: "info", Format: "text"})
	}
	return resolve.Config(in)
}
