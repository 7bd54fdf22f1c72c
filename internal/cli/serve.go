package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"wharf/internal/config"
	"wharf/internal/server"
)

// serveFlags are the flags of `wharf serve`; each has a WHARF_* variable.
type serveFlags struct {
	config, addr, tokenAddr, data, auth, tls, logLevel, trustedProxies, debugAddr string
	databaseDriver, databaseDSN                                                   string
}

func newServe() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry",
		Long: `Run the registry on embedded defaults: blobs on the local filesystem and
metadata in SQLite, both under the data directory. The metadata can live in
PostgreSQL or MySQL/MariaDB instead (--database-driver, --database-dsn),
shared by several wharf replicas.

Settings come from, lowest to highest precedence: built-in defaults, the
config file (--config / WHARF_CONFIG), WHARF_* environment variables, flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.resolve(cmd)
			if err != nil {
				return err
			}
			return run(cmd, cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", "", "path of a wharf.yml (env WHARF_CONFIG)")
	fl.StringVar(&f.addr, "addr", "", `listen address host:port, ":0" picks a free port (env WHARF_ADDR, default ":5000")`)
	fl.StringVar(&f.tokenAddr, "token-addr", "", `also serve the token endpoint on this address, e.g. ":5001" (env WHARF_TOKEN_ADDR); challenges then send clients there`)
	fl.StringVar(&f.data, "data", "", `data directory (env WHARF_DATA, default "./wharf-data")`)
	fl.StringVar(&f.auth, "auth", "", `authentication: token (built-in token server), htpasswd or none (env WHARF_AUTH, default "token")`)
	fl.StringVar(&f.tls, "tls", "", `transport security: auto (a generated local CA), files or off (env WHARF_TLS)`)
	fl.StringVar(&f.trustedProxies, "trusted-proxies", "", `comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-* headers are believed (env WHARF_TRUSTED_PROXIES)`)
	fl.StringVar(&f.debugAddr, "debug-addr", "", `serve Go's runtime profiles (/debug/pprof/) on this address, e.g. "127.0.0.1:5002" (env WHARF_DEBUG_ADDR); no authentication, keep it on loopback`)
	fl.StringVar(&f.databaseDriver, "database-driver", "", `metadata database: sqlite, postgres or mysql (env WHARF_DATABASE_DRIVER, default "sqlite" in the data directory)`)
	fl.StringVar(&f.databaseDSN, "database-dsn", "", `the database's connection string (env WHARF_DATABASE_DSN); it may hold a password, which other local users can read on a command line: prefer the variable or database.dsn_file`)
	fl.StringVar(&f.logLevel, "log-level", "", `debug, info, warn or error (env WHARF_LOG_LEVEL, default "info")`)
	return cmd
}

// resolve layers defaults, the config file, the environment and flags.
func (f serveFlags) resolve(cmd *cobra.Command) (config.Config, error) {
	cfg := config.Default()
	if path := pick(cmd, "config", f.config, "WHARF_CONFIG", ""); path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return cfg, err
		}
	}
	cfg.Addr = pick(cmd, "addr", f.addr, "WHARF_ADDR", cfg.Addr)
	cfg.TokenAddr = pick(cmd, "token-addr", f.tokenAddr, "WHARF_TOKEN_ADDR", cfg.TokenAddr)
	cfg.Data = pick(cmd, "data", f.data, "WHARF_DATA", cfg.Data)
	cfg.Auth = pick(cmd, "auth", f.auth, "WHARF_AUTH", cfg.Auth)
	cfg.TLS = pick(cmd, "tls", f.tls, "WHARF_TLS", cfg.TLS)
	cfg.DebugAddr = pick(cmd, "debug-addr", f.debugAddr, "WHARF_DEBUG_ADDR", cfg.DebugAddr)
	cfg.Log.Level = pick(cmd, "log-level", f.logLevel, "WHARF_LOG_LEVEL", cfg.Log.Level)
	cfg.Database = databaseOverrides(cfg.Database,
		pick(cmd, "database-driver", f.databaseDriver, "WHARF_DATABASE_DRIVER", ""),
		pick(cmd, "database-dsn", f.databaseDSN, "WHARF_DATABASE_DSN", ""))
	if tp := pick(cmd, "trusted-proxies", f.trustedProxies, "WHARF_TRUSTED_PROXIES", ""); tp != "" {
		cfg.TrustedProxies = strings.Split(tp, ",")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// databaseOverrides applies a driver and DSN given by flag or environment
// over the config file's database section. A DSN given that way replaces a
// dsn_file of the file; another driver drops the file's DSN, which was
// written for the file's driver.
func databaseOverrides(db config.Database, driver, dsn string) config.Database {
	if driver != "" && driver != db.DriverName() {
		db.Driver, db.DSN, db.DSNFile = driver, "", ""
	}
	if dsn != "" {
		db.DSN, db.DSNFile = dsn, ""
	}
	return db
}

// pick returns the flag if given, else the environment variable, else the
// value so far.
func pick(cmd *cobra.Command, flag, value, env, current string) string {
	if cmd.Flags().Changed(flag) {
		return value
	}
	return envOr(env, current)
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

// run validates cfg and serves it until the command's context ends.
func run(cmd *cobra.Command, cfg config.Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
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

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated before
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
