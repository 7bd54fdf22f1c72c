package adminuser

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"wharf/internal/accounts"
	"wharf/internal/atomicfile"
	"wharf/internal/auth"
	"wharf/internal/auth/authn/htpasswd"
	"wharf/internal/auth/password"
	"wharf/internal/datadir"
)

// Name is the built-in administrator's account name.
const Name = "admin"

// BootstrapOptions are what Bootstrap needs besides the account database
// and the directory.
type BootstrapOptions struct {
	// Password is WHARF_ADMIN_PASSWORD (config.Config.AdminPassword,
	// checked by the configuration): the first password, when set.
	Password auth.Secret
	// Terminal, when set, is told a generated password too (stderr when it
	// is a terminal: someone is watching; never a log collector).
	Terminal io.Writer
	Log      *slog.Logger
}

// Bootstrap makes sure the admin account exists in the account database
// svc changes. When it does not:
//
//   - a hash file of earlier releases (dir.AdminHash) is moved into the
//     database once, the password unchanged, and renamed to
//     dir.AdminHashMigrated (rename it back to run an earlier release);
//   - else the account is created with opts.Password, or with a generated
//     password written to dir.AdminPassword (mode 0600).
//
// Later, opts.Password is not applied again: when it differs from the
// admin's password the log says so and names the command that changes it.
// On a database shared by several servers the first to create the account
// wins; the others find it there.
func Bootstrap(ctx context.Context, svc *accounts.Service, dir datadir.Dir, opts BootstrapOptions) error {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if hash, err := svc.PasswordHash(ctx, Name); err == nil {
		staleFile(dir, opts.Log)
		warnIfDifferent(ctx, hash, opts.Password, opts.Log)
		return nil
	} else if !accounts.IsNotFound(err) {
		return fmt.Errorf("adminuser: %w", err)
	}
	migrated, err := Migrate(ctx, svc, dir, opts.Log)
	if err != nil || migrated {
		if migrated {
			warnIfDifferent(ctx, nil, opts.Password, opts.Log)
		}
		return err
	}
	return create(ctx, svc, dir, opts)
}

// Migrate moves the hash file of earlier releases into the database, and
// reports whether it did. wharf serve does it on start; the account
// commands too, so that they see the admin right after an upgrade. When
// two do it at once, one creates the account and the other finds it.
func Migrate(ctx context.Context, svc *accounts.Service, dir datadir.Dir, log *slog.Logger) (bool, error) {
	path := dir.AdminHash()
	hash, err := Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := svc.AddBuiltinHash(ctx, hash); err != nil && !createdMeanwhile(ctx, svc, err) {
		return false, fmt.Errorf("adminuser: moving %s into the account database: %w", path, err)
	}
	if err := os.Rename(path, dir.AdminHashMigrated()); errors.Is(err, fs.ErrNotExist) {
		return false, nil // moved by another command meanwhile
	} else if err != nil {
		return false, fmt.Errorf("adminuser: the admin account is in the database now, but %s could not be renamed: %w", path, err)
	}
	log.Info("moved the admin account from its file into the account database, with its password; `wharf user` manages it now",
		"file", dir.AdminHashMigrated())
	return true, nil
}

// create makes the account with the given or a generated password.
func create(ctx context.Context, svc *accounts.Service, dir datadir.Dir, opts BootstrapOptions) error {
	pw, generated := opts.Password, opts.Password == ""
	if generated {
		var err error
		if pw, err = generate(); err != nil {
			return err
		}
		if err := dir.CreateAuth(); err != nil {
			return fmt.Errorf("adminuser: %w", err)
		}
		if err := atomicfile.Write(dir.AdminPassword(), []byte(pw.Reveal()+"\n"), 0o600); err != nil {
			return fmt.Errorf("adminuser: %w", err)
		}
	}
	err := svc.AddBuiltin(ctx, pw)
	if err != nil && createdMeanwhile(ctx, svc, err) { // another server on the same database was first
		if generated {
			_ = os.Remove(dir.AdminPassword())
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("adminuser: %w", err)
	}
	if !generated {
		opts.Log.Info("created the admin account with the password in WHARF_ADMIN_PASSWORD")
		return nil
	}
	opts.Log.Info("created the admin account with a generated password; read it from the password file (mode 0600), then change it with `wharf user passwd admin`",
		"password_file", dir.AdminPassword())
	if opts.Terminal != nil {
		fmt.Fprintf(opts.Terminal, "\n  Created the administrator account.\n    user:     %s\n    password: %s\n  It is also in %s (readable by this user only); change it with: wharf user passwd admin\n  Log in with: docker login HOST:PORT -u admin\n\n",
			Name, pw.Reveal(), dir.AdminPassword())
	}
	return nil
}

// createdMeanwhile reports whether err, from creating the admin, means
// that another server or command created it at the same moment: the
// database says so (ErrExists), or its unique index refused the row
// (PostgreSQL reports that in its own words) and the admin is there now.
func createdMeanwhile(ctx context.Context, svc *accounts.Service, err error) bool {
	if accounts.IsExists(err) {
		return true
	}
	_, lookErr := svc.PasswordHash(ctx, Name)
	return lookErr == nil
}

// staleFile warns about a hash file of an earlier release found beside an
// admin already in the database (restored from a backup, or written by an
// earlier release run on the same directory): it is not read.
func staleFile(dir datadir.Dir, log *slog.Logger) {
	if _, err := os.Stat(dir.AdminHash()); err == nil {
		log.Warn("this file is not read: the admin account is in the account database (wharf user passwd admin changes its password); remove the file",
			"file", dir.AdminHash())
	}
}

// warnIfDifferent logs when WHARF_ADMIN_PASSWORD is set but is not the
// admin's password (hash; nil when just migrated): it only sets the first
// one.
func warnIfDifferent(ctx context.Context, hash []byte, pw auth.Secret, log *slog.Logger) {
	if pw == "" {
		return
	}
	if hash != nil {
		if ok, err := password.Verify(ctx, hash, pw); err == nil && ok {
			return
		}
	}
	log.Warn("WHARF_ADMIN_PASSWORD is not applied: it sets the admin's first password only, and the admin account exists; change its password with `wharf user passwd admin`")
}

// generate returns a random password of 24 characters (144 bits).
func generate() (auth.Secret, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("adminuser: password: %w", err)
	}
	return auth.Secret(base64.RawURLEncoding.EncodeToString(b[:])), nil
}

// Read returns the admin's bcrypt hash from a hash file of an earlier
// release; the error wraps fs.ErrNotExist when there is none.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("adminuser: %w", err)
	}
	defer f.Close()
	hashes, err := htpasswd.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("adminuser: %s: %w", path, err)
	}
	hash, ok := hashes[Name]
	if !ok {
		return nil, fmt.Errorf("adminuser: %s holds no admin entry; remove it, and wharf serve creates the admin account afresh", path)
	}
	return hash, nil
}

// PasswordChanged removes the generated first password's file once the
// admin's password changed: it no longer holds it.
func PasswordChanged(dir datadir.Dir) error {
	if err := os.Remove(dir.AdminPassword()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("adminuser: %w", err)
	}
	return nil
}
