package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"wharf/internal/accounts"
	"wharf/internal/adminuser"
	"wharf/internal/audit"
	"wharf/internal/auth"
	"wharf/internal/authstack"
	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/metadata"
)

// accountFlags are the flags every user, team, acl, token and session
// command shares: the settings of `wharf serve` that say where its
// database is, so that they change the database a running server reads.
type accountFlags struct {
	json bool
}

// accountSettings are those flags; each has a WHARF_* variable, and every
// other WHARF_* variable applies as it does to `wharf serve`.
var accountSettings = []string{"config", "data", "database-driver", "database-dsn"}

func (f *accountFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("config", "", "path of the wharf.yml that wharf serve uses (env WHARF_CONFIG)")
	pf.String("data", "", `data directory of the server (env WHARF_DATA, default "./wharf-data")`)
	addDatabaseFlags(pf)
}

// accountEnv is an opened database with the operations on it.
type accountEnv struct {
	cfg   config.Config
	store *metadata.Store
	svc   *accounts.Service
	log   *slog.Logger
	// audit records the changes made (nil when audit.enabled is off).
	audit *audit.Log
}

// close writes the audit records of the changes made, then closes the
// database.
func (e *accountEnv) close(ctx context.Context) {
	if e.audit != nil {
		if err := e.audit.Close(ctx); err != nil {
			e.log.Error("audit: records of this change not written", "err", err)
		}
	}
	e.store.Close()
}

// openAudited opens what the commands that change the database share: the
// configuration, the database and, with audit.enabled, the audit log
// (nil when off), where their changes are the operating-system user's.
func openAudited(cmd *cobra.Command) (config.Config, *metadata.Store, *slog.Logger, *audit.Log, error) {
	cfg, err := resolveConfig(cmd, config.RoleAllInOne, nil, accountSettings...)
	if err != nil {
		return config.Config{}, nil, nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := authstack.OpenMetadata(cmd.Context(), cfg, log)
	if err != nil {
		return config.Config{}, nil, nil, nil, err
	}
	if !cfg.Audit.On() {
		return cfg, store, log, nil, nil
	}
	alog, err := audit.New(audit.Options{Store: store, Log: log})
	if err != nil {
		store.Close()
		return config.Config{}, nil, nil, nil, err
	}
	cmd.SetContext(accounts.WithActor(cmd.Context(), accounts.Actor{Name: osUser(), Source: audit.SourceCLI}))
	return cfg, store, log, alog, nil
}

func (f *accountFlags) open(cmd *cobra.Command) (*accountEnv, error) {
	cfg, store, log, alog, err := openAudited(cmd)
	if err != nil {
		return nil, err
	}
	opts, err := authstack.AccountOptions(cfg)
	if err != nil {
		(&accountEnv{store: store, log: log, audit: alog}).close(cmd.Context())
		return nil, err
	}
	if alog != nil {
		opts.Changed = alog.Changed
	}
	svc := accounts.NewService(store, opts)
	// Right after an upgrade the built-in admin may still be in the file
	// of earlier releases: move it, as wharf serve would, so that these
	// commands see and change it.
	if opts.Builtin != "" {
		dir := datadir.New(cfg.Data)
		moved, err := adminuser.Migrate(cmd.Context(), svc, dir, log)
		if err != nil {
			(&accountEnv{store: store, log: log, audit: alog}).close(cmd.Context())
			return nil, err
		}
		if moved {
			fmt.Fprintf(cmd.ErrOrStderr(), "moved the admin account from its file into the account database, with its password (the file is now %s); `wharf user` manages it\n", dir.AdminHashMigrated())
		}
	}
	return &accountEnv{cfg: cfg, store: store, svc: svc, log: log, audit: alog}, nil
}

// with runs fn with an opened database and closes it after.
func (f *accountFlags) with(fn func(cmd *cobra.Command, args []string, env *accountEnv) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		env, err := f.open(cmd)
		if err != nil {
			return err
		}
		defer env.close(context.WithoutCancel(cmd.Context()))
		return explainError(fn(cmd, args, env))
	}
}

// explainError turns store sentinels into plain messages.
func explainError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, metadata.ErrNotFound):
		return errors.New(strings.Replace(err.Error(), "metadata: not found: ", "no such ", 1))
	case errors.Is(err, metadata.ErrExists):
		return errors.New(strings.Replace(err.Error(), "metadata: already exists: ", "", 1) + " already exists")
	case errors.Is(err, accounts.ErrInvalid):
		return errors.New(strings.ReplaceAll(err.Error(), accounts.ErrInvalid.Error()+": ", ""))
	case errors.Is(err, accounts.ErrRefused):
		return errors.New(strings.ReplaceAll(err.Error(), accounts.ErrRefused.Error()+": ", "refused: "))
	}
	return err
}

// readNewPassword reads a new password from stdin (--password-stdin: all of
// it, without the final newline) or from the terminal without echo, asked
// twice. Passwords never come from the command line, where ps and the
// shell history would show them.
func readNewPassword(cmd *cobra.Command, fromStdin bool, what string) (auth.Secret, error) {
	in := cmd.InOrStdin()
	if fromStdin {
		return readStdinPassword(in, 4096)
	}
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to ask for the password on; pipe it in with --password-stdin")
	}
	out := cmd.ErrOrStderr()
	fmt.Fprintf(out, "%s: ", what)
	first, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	fmt.Fprintf(out, "Repeat %s: ", strings.ToLower(what[:1])+what[1:])
	second, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if !bytes.Equal(first, second) {
		return "", errors.New("the passwords differ; nothing changed")
	}
	return auth.Secret(first), nil
}

// readStdinPassword reads a password from in: at most max bytes, without
// the final newline.
func readStdinPassword(in io.Reader, max int64) (auth.Secret, error) {
	b, err := io.ReadAll(io.LimitReader(in, max))
	if err != nil {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	if len(b) == 0 {
		return "", errors.New("stdin held no password")
	}
	return auth.Secret(b), nil
}

// table writes aligned columns.
type table struct{ w *tabwriter.Writer }

func newTable(out io.Writer, header ...string) *table {
	t := &table{w: tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cols ...string) { fmt.Fprintln(t.w, strings.Join(cols, "\t")) }

func (t *table) flush() error { return t.w.Flush() }

// writeJSON writes v indented.
func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// when formats a time for tables; zero is "never" (or what zero says).
func when(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.Local().Format("2006-01-02 15:04")
}

// whenPtr is when for an optional time (nil: what zero says).
func whenPtr(t *time.Time, zero string) string {
	if t == nil {
		return zero
	}
	return when(*t, zero)
}

// orDash shows an empty list or value as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// osUser names the operating-system user running a command, the actor of
// the changes it makes.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return name
	}
	return "uid " + strconv.Itoa(os.Getuid())
}
