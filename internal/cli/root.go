package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"wharf/internal/keyhint"
	"wharf/internal/metadata"
)

// The exit statuses of every command (README.md, "Exit status"): what a
// script can tell apart without reading the message.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed, or found problems
	exitUsage   = 2 // the command line is wrong: nothing was done
)

// usageStatusKey, among a command's annotations, overrides exitUsage for
// it: a container runtime reads a HEALTHCHECK's 2 as "reserved", so wharf
// health exits 1 for every failure.
const usageStatusKey = "wharf/usage-status"

// exitError is an error with its own exit status. err, when not nil, is
// printed; a denial that has been explained already has none.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a mistake in the command line found while running the
// command (a flag value it cannot take): exit status 2, as cobra's own.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// runError marks an error the command returned while running; an error
// without it is cobra's refusal of the command line (unknown command or
// flag, wrong number of arguments, a flag value that does not parse, a
// required flag missing).
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// Run executes the wharf command line and returns the process exit
// status: 0 on success, 2 when the command line is wrong, 1 for any other
// failure (wharf acl check: 1 when denied; wharf health: 1 for any
// failure).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	code := exitFailure
	if ee, ok := errors.AsType[*exitError](err); ok {
		code, err = ee.code, ee.err
	} else if _, ok := errors.AsType[*runError](err); !ok {
		code = exitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "wharf:", err)
	}
	if errors.Is(err, metadata.ErrFull) {
		// Deletes are writes too: on a disk full to the last byte the
		// database cannot record the ones that would free space.
		fmt.Fprintln(stderr, "wharf: every change needs a little room in the database, deletes too: "+
			"free some space on its disk (or grow it) and run the command again; then delete images and run wharf gc to free the registry's own")
	}
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		if s := cmd.Annotations[usageStatusKey]; s == "1" {
			code = exitFailure
		}
	}
	return code
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "wharf",
		Short: "A private container registry and its token server in one binary",
		Long: `Wharf is a private container registry (the OCI Distribution API that docker,
podman, containerd, skopeo and crane speak) in one Go binary.

Start it with embedded defaults (blobs on disk, metadata in SQLite, all under
./wharf-data):

  wharf serve

Exit status: 0 on success, 1 when the command failed, 2 when the command line
is wrong (unknown command or flag, wrong arguments, a bad flag value).
wharf acl check exits 1 when the access is denied; wharf health 1 for any
failure.`,
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("wharf {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServe(), newRegistry(), newAuth(), newCerts(), newDoctor(), newHealth(), newVersion(),
		newUser(), newTeam(), newACL(), newToken(), newSession(), newHashPassword(), newImport(), newFsck(), newAudit(), newRetention(),
		newRepo(), newTag(), newQuota(), newGC(), newMigrateStorage(), newMigrateDB(), newTokenKey(), newMirror(), newCopy(), newReplication())
	markRunErrors(root)
	return root
}

// markRunErrors walks the command tree: each command's own errors are
// marked as such (runError), so that Run tells them from cobra's refusals
// of the command line; a command that only groups others (wharf acl) shows
// its help when called alone and refuses an unknown subcommand, with the
// closest one, rather than showing help and exiting 0.
func markRunErrors(cmd *cobra.Command) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if err := run(c, args); err != nil {
				return &runError{err}
			}
			return nil
		}
	} else if cmd.Run == nil && cmd.HasSubCommands() {
		cmd.Args = unknownSubcommand
		cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
	for _, sub := range cmd.Commands() {
		markRunErrors(sub)
	}
}

// unknownSubcommand refuses any argument of a command that only groups
// others: it can only be a mistyped subcommand.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	hint := ""
	if best := keyhint.Closest(args[0], names); best != "" {
		hint = " (did you mean " + best + "?)"
	}
	return fmt.Errorf("unknown command %q for %q%s", args[0], cmd.CommandPath(), hint)
}
