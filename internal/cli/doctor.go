package cli

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"wharf/internal/compat/distribution"
	"wharf/internal/compat/dockerauth"
	"wharf/internal/config"
	"wharf/internal/config/resolve"
	"wharf/internal/doctor"
)

func newDoctor() *cobra.Command {
	var (
		serveConfig, registryConfig, authConfig string
		setup                                   doctor.Setup
		passwordStdin                           bool
	)
	cmd := &cobra.Command{
		Use:   "doctor [--config FILE | --registry-config FILE --auth-config FILE | --url URL]",
		Short: "Check a setup and explain what is wrong, with a fix for each problem",
		Long: `Check a Wharf setup the way the servers would read it, and explain each
problem with a one-line fix:

  wharf doctor --config wharf.yml                 # wharf serve
  wharf doctor --registry-config config.yml --auth-config auth_config.yml
                                                  # wharf registry (+ REGISTRY_* variables) and wharf auth
  wharf doctor --url https://registry.example.com --user ci --password-stdin

Checks: issuer and service equal on both sides (and literal quotes in values),
the token-signing certificate in or chaining to rootcertbundle, keys matching
their certificates, server certificate names (--host), certificates valid for
more than 30 days, the realm answering with a token that verifies, clock
skew, the data directory and database. Exit status 0 only when nothing
failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			// A configuration a server would refuse is reported, problem
			// by problem, among the other checks rather than ending the
			// run: the realm and the data directory are still worth a look.
			refused := func(file, without, command string, err error) {
				setup.Refused = append(setup.Refused, doctor.Refused{What: describeFile(file, without), File: file, Command: command, Problems: resolve.Problems(err)})
			}
			// resolved is a configuration as the server command reads it,
			// with what it checks before creating anything, or nil.
			resolved := func(c config.Config, err error, file, without, command string) *config.Config {
				if err == nil {
					err = resolve.Preflight(c)
				}
				if err != nil {
					refused(file, without, command, err)
					return nil
				}
				return &c
			}
			if serveConfig != "" || (registryConfig == "" && authConfig == "" && setup.URL == "") {
				// As `wharf serve` reads it; without --config, the file of
				// WHARF_CONFIG if any.
				c, err := resolveConfig(cmd, config.RoleAllInOne, nil, "config")
				setup.Serve = resolved(c, err, serveConfig, "WHARF_CONFIG and WHARF_* variables", "wharf serve")
			}
			if registryConfig != "" || (authConfig != "" && os.Getenv("REGISTRY_AUTH") != "") {
				c, err := resolveGiven(config.RoleRegistry, map[string]string{"config": registryConfig}, nil)
				if setup.Registry = resolved(c, err, registryConfig, "REGISTRY_* variables", "wharf registry"); setup.Registry != nil {
					setup.RegistryWarnings = distribution.Warnings(c)
				}
			}
			if authConfig != "" {
				c, err := resolveGiven(config.RoleAuth, map[string]string{"config": authConfig}, nil)
				if setup.Auth = resolved(c, err, authConfig, "", "wharf auth"); setup.Auth != nil {
					setup.AuthWarnings = dockerauth.Warnings(c)
				}
			}
			if passwordStdin {
				if setup.Password, err = readPassword(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			report := doctor.Run(cmd.Context(), setup)
			report.Print(cmd.OutOrStdout())
			if !report.OK() {
				return errors.New("doctor found problems (see the fixes above)")
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&serveConfig, "config", "", "wharf.yml of wharf serve (env WHARF_CONFIG; WHARF_* variables apply on top, as to wharf serve)")
	fl.StringVar(&registryConfig, "registry-config", "", "distribution config.yml of wharf registry (REGISTRY_* variables apply on top)")
	fl.StringVar(&authConfig, "auth-config", "", "docker_auth config of wharf auth")
	fl.StringVar(&setup.URL, "url", "", "a running registry to probe, e.g. https://registry.example.com")
	fl.StringVar(&setup.Host, "host", "", "the public host name clients use (checked against certificate names)")
	fl.StringVar(&setup.User, "user", "", "a test user to ask the realm for a token with")
	fl.BoolVar(&passwordStdin, "password-stdin", false, "read the test user's password from standard input")
	fl.StringVar(&setup.CAFile, "ca", "", "a CA bundle to trust when probing over HTTPS")
	return cmd
}

// describeFile names a configuration in doctor's report: its file, or
// what the server reads without one.
func describeFile(path, without string) string {
	switch {
	case path != "":
		return "config " + path
	case without != "":
		return "config (" + without + ")"
	}
	return "config"
}

// readPassword reads one line: the password, never taken from argv.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
