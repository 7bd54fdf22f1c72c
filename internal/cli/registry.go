package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"wharf/internal/config"
	"wharf/internal/config/resolve"
)

func newRegistry() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry [--config config.yml]",
		Short: "Run the registry alone, configured like distribution (registry:2)",
		Long: `Run the registry alone, verifying tokens from any issuer (docker_auth, wharf
auth), configured exactly like distribution: a config.yml (the registry:2
image reads /etc/docker/registry/config.yml) and REGISTRY_* environment
variables such as REGISTRY_AUTH_TOKEN_REALM or
REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY. A compose file written for
registry:2 works by changing the image and the command.

Keys wharf does not support yet are errors that name them; keys that have no
effect in wharf (storage.cache, health, …) are accepted and logged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, config.RoleRegistry, cmd.ErrOrStderr(), foreignSettings...)
			if err != nil {
				return err
			}
			return run(cmd, cfg)
		},
	}
	cmd.Flags().String("config", "", "distribution configuration file (env WHARF_CONFIG); optional, REGISTRY_* variables apply on top")
	cmd.Flags().String("data", "", "data directory, overriding storage.filesystem.rootdirectory")
	cmd.Flags().String("addr", "", "listen address, overriding http.addr")
	addForeignLogFlags(cmd.Flags(), "log.level", "log.formatter", "log.accesslog.disabled")
	return cmd
}

// foreignSettings are the flags of `wharf registry` and `wharf auth`.
var foreignSettings = []string{"config", "data", "addr", "log-level", "log-format", "log-access"}

// addForeignLogFlags adds the log's flags of wharf registry and wharf
// auth, naming the keys of the file they override (none for docker_auth,
// whose file has no log settings).
func addForeignLogFlags(fl *pflag.FlagSet, level, format, access string) {
	over := func(key string) string {
		if key == "" {
			return ""
		}
		return ", overriding " + key
	}
	fl.String("log-level", "", `debug, info, warn or error (default "info")`+over(level))
	fl.String("log-format", "", `text or json (default "text")`+over(format))
	fl.String("log-access", "", `on or off: a line per request (default "on")`+over(access))
}

func newAuth() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth --config auth_config.yml",
		Short: "Run the token server alone, configured like docker_auth",
		Long: `Run the token server alone, reading a cesanta/docker_auth configuration file
unchanged: server, token, users and acl. Sections wharf does not support yet
are errors that name them, never silently ignored.

Refresh tokens (docker login's identity tokens) are kept, hashed, in a SQLite
database in the data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, config.RoleAuth, cmd.ErrOrStderr(), foreignSettings...)
			if err != nil {
				return err
			}
			return run(cmd, cfg)
		},
	}
	cmd.Flags().String("config", "", "docker_auth configuration file (env WHARF_CONFIG)")
	cmd.Flags().String("data", resolve.DefaultAuthData, "directory for the refresh-token database")
	cmd.Flags().String("addr", "", "listen address, overriding server.addr")
	addForeignLogFlags(cmd.Flags(), "", "", "")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
