package cli

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"wharf/internal/config"
	"wharf/internal/config/resolve"
	"wharf/internal/server"
)

// serveSettings are the flags of `wharf serve`; each has a WHARF_*
// variable (resolve).
var serveSettings = []string{"config", "addr", "token-addr", "data", "auth", "tls", "tls-name", "trusted-proxies",
	"debug-addr", "database-driver", "database-dsn", "log-level", "log-format", "log-access", "read-only"}

func newServe() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry",
		Long: `Run the registry and its token server on embedded defaults: blobs on the
local filesystem and metadata in SQLite, both under the data directory
(./wharf-data). The metadata can live in PostgreSQL or MySQL/MariaDB instead
(--database-driver, --database-dsn), shared by several wharf replicas.

HTTPS is on by default (tls: auto): the first start generates a local CA and a
server certificate in <data>/tls. Clients must trust <data>/tls/ca.crt; every
start logs its path and how, e.g. for docker:

  mkdir -p /etc/docker/certs.d/HOST:5000
  cp wharf-data/tls/ca.crt /etc/docker/certs.d/HOST:5000/ca.crt

Add the names clients use to tls_names in wharf.yml, or use your own
certificate (--tls files), ACME (--tls acme) or plain HTTP behind a TLS proxy
(--tls off).

Token authentication is on by default, with an account named admin. Its
password is WHARF_ADMIN_PASSWORD (at least 12 characters) on the first start,
or else a random one written to <data>/auth/admin.password (mode 0600); the log
names the file, never the password. Change it with wharf user passwd admin.

Settings come from, lowest to highest precedence: built-in defaults, the
config file (--config / WHARF_CONFIG), WHARF_* environment variables, flags.
The log goes to standard error: one line per request (--log-access off turns
them off), as text or JSON (--log-format json).`,
		Example: `  # HTTPS on :5000 with a generated CA, token auth, data in ./wharf-data
  WHARF_ADMIN_PASSWORD='choose-a-long-one' wharf serve

  # on loopback, plain HTTP, for a try-out or behind a TLS-terminating proxy
  wharf serve --addr 127.0.0.1:5000 --tls off --data /srv/wharf

  # from a config file, with JSON logs and no access lines
  WHARF_CONFIG=/etc/wharf/wharf.yml WHARF_LOG_FORMAT=json wharf serve --log-access off

  # metadata in PostgreSQL (the DSN in the environment, not on the command line)
  WHARF_DATABASE_DSN='postgres://wharf@db/wharf' wharf serve --database-driver postgres`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := resolveConfig(cmd, config.RoleAllInOne, nil, serveSettings...)
			if err != nil {
				return err
			}
			return run(cmd, cfg)
		},
	}
	fl := cmd.Flags()
	fl.String("config", "", "path of a wharf.yml (env WHARF_CONFIG)")
	fl.String("addr", "", `listen address host:port, ":0" picks a free port (env WHARF_ADDR, default ":5000")`)
	fl.String("token-addr", "", `also serve the token endpoint on this address, e.g. ":5001" (env WHARF_TOKEN_ADDR); challenges then send clients there`)
	fl.String("data", "", `data directory (env WHARF_DATA, default "./wharf-data")`)
	fl.String("auth", "", `authentication: token (built-in token server), htpasswd or none (env WHARF_AUTH, default "token")`)
	fl.String("tls", "", `transport security: auto (a generated local CA in <data>/tls), files, acme or off (env WHARF_TLS, default "auto")`)
	fl.Var(&names{}, "tls-name", `a DNS name or IP address clients use to reach the server, put in the generated certificate (tls: auto); repeat it or separate names with commas (env WHARF_TLS_NAMES, comma-separated)`)
	fl.String("trusted-proxies", "", `comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-* headers are believed (env WHARF_TRUSTED_PROXIES)`)
	fl.String("debug-addr", "", `serve Go's runtime profiles (/debug/pprof/) on this address, e.g. "127.0.0.1:5002" (env WHARF_DEBUG_ADDR); no authentication, keep it on loopback`)
	fl.Bool("read-only", false, `refuse pushes and deletes (503 UNAVAILABLE with Retry-After) while pulls go on (env WHARF_READ_ONLY, read_only in wharf.yml); the admin API can also set it at runtime`)
	addDatabaseFlags(fl)
	addLogFlags(fl)
	return cmd
}

// addLogFlags adds the log's flags, which every server command has.
func addLogFlags(fl *pflag.FlagSet) {
	fl.String("log-level", "", `debug, info, warn or error (env WHARF_LOG_LEVEL, default "info")`)
	fl.String("log-format", "", `text or json (env WHARF_LOG_FORMAT, default "text")`)
	fl.String("log-access", "", `on or off: a line per request (env WHARF_LOG_ACCESS, default "on"); errors are logged either way`)
}

// addDatabaseFlags adds the flags that choose the metadata database, which
// wharf serve and the commands that change its users, teams, rules, tokens
// and sessions share.
func addDatabaseFlags(fl *pflag.FlagSet) {
	fl.String("database-driver", "", `metadata database: sqlite, postgres or mysql (env WHARF_DATABASE_DRIVER, default "sqlite" in the data directory)`)
	fl.String("database-dsn", "", `the database's connection string (env WHARF_DATABASE_DSN); it may hold a password, which other local users can read on a command line: prefer the variable or database.dsn_file`)
}

// terminal returns w when it is a terminal someone watches, nil otherwise
// (a pipe to a log collector, the journal, `docker logs`): what is meant
// for the operator's eyes only is not written there.
func terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return w
	}
	return nil
}

// run serves cfg, a resolved configuration, until the command's context
// ends.
func run(cmd *cobra.Command, cfg config.Config) error {
	// Everything that can be checked is, before the server creates its
	// data directory, database or keys.
	if err := resolve.Preflight(cfg); err != nil {
		return err
	}
	log := newLogger(cmd.ErrOrStderr(), cfg.Log)
	if cfg.Auth == "none" && cfg.Role != config.RoleAuth {
		log.Warn("AUTHENTICATION IS OFF (auth: none): anyone who can reach " + cfg.Addr + " can push, overwrite and delete images")
	}
	if cfg.TLS == "off" && cfg.Role == config.RoleAllInOne {
		log.Warn("TLS IS OFF (tls: off): passwords and tokens cross the network in clear; use it only behind a TLS-terminating proxy or for tests")
	}
	srv, err := server.New(cmd.Context(), cfg, log, terminal(cmd.ErrOrStderr()))
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Serve(cmd.Context())
}

// names is a repeatable flag whose value, as resolve reads every flag, is
// the comma-separated list of what was given.
type names []string

func (n *names) String() string { return strings.Join(*n, ",") }

func (n *names) Set(v string) error {
	*n = append(*n, v)
	return nil
}

func (n *names) Type() string { return "name" }

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated before
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
