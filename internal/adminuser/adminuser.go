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
	"strings"

	"wharf/internal/accounts"
	"wharf/internal/atomicfile"
	"wharf/internal/auth"
	"wharf/internal/auth/authn/htpasswd"
	"wharf/internal/auth/password"
	"wharf/internal/datadir"
)

// Name is the built-in administrator's account name.
const Name = "admin"

// EnvPassword is the variable that sets the admin's first password.
const EnvPassword = "WHARF_ADMIN_PASSWORD"

// BootstrapOptions are what Bootstrap needs besides the directory.
type BootstrapOptions struct {
	// Env looks up WHARF_ADMIN_PASSWORD (os.LookupEnv by default).
	Env func(string) (string, bool)
	// Terminal, when set, is told a generated password too (stderr when it
	// is a terminal: someone is watching; never a log collector).
	Terminal io.Writer
	Log      *slog.Logger
	// Cost is the bcrypt cost (0: accounts.DefaultCost).
	Cost int
}

// Bootstrap makes sure the admin account exists in the data directory
// (dir.AdminHash) and returns its hash file. On first start it is created
// with WHARF_ADMIN_PASSWORD, which must follow the password rules, or with
// a generated password written to dir.AdminPassword. Later, WHARF_ADMIN_PASSWORD is not applied again: when it
// differs from the stored password the log says so and names the command
// that changes it.
func Bootstrap(dir datadir.Dir, opts BootstrapOptions) (string, error) {
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	path := dir.AdminHash()
	pw, fromEnv := opts.Env(EnvPassword)
	fromEnv = fromEnv && pw != ""
	if _, err := os.Stat(path); err == nil {
		if fromEnv {
			warnIfDifferent(path, auth.Secret(pw), opts.Log)
		}
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("adminuser: %w", err)
	}
	if err := dir.CreateAuth(); err != nil {
		return "", fmt.Errorf("adminuser: %w", err)
	}
	if fromEnv {
		if err := checkEnvPassword(pw); err != nil {
			return "", err
		}
	} else {
		var err error
		if pw, err = generate(); err != nil {
			return "", err
		}
		if err := atomicfile.Write(dir.AdminPassword(), []byte(pw+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("adminuser: %w", err)
		}
	}
	if err := write(path, auth.Secret(pw), opts.Cost); err != nil {
		return "", err
	}
	if fromEnv {
		opts.Log.Info("created the admin account with the password in "+EnvPassword, "file", path)
		return path, nil
	}
	opts.Log.Info("created the admin account with a generated password; read it from the password file (mode 0600), then change it with `wharf user passwd admin`",
		"password_file", dir.AdminPassword())
	if opts.Terminal != nil {
		fmt.Fprintf(opts.Terminal, "\n  Created the administrator account.\n    user:     %s\n    password: %s\n  It is also in %s (readable by this user only); change it with: wharf user passwd admin\n  Log in with: docker login HOST:PORT -u admin\n\n",
			Name, pw, dir.AdminPassword())
	}
	return path, nil
}

// checkEnvPassword applies the password rules to WHARF_ADMIN_PASSWORD, and
// refuses a value wrapped in quotes (compose's list form passes them on).
func checkEnvPassword(pw string) error {
	if len(pw) >= 2 && (pw[0] == '"' || pw[0] == '\'') && pw[len(pw)-1] == pw[0] {
		return fmt.Errorf("adminuser: %s is wrapped in %c quotes, which would become part of the password (compose's `- VAR=\"value\"` list form keeps them); remove the quotes", EnvPassword, pw[0])
	}
	if err := accounts.CheckPassword(auth.Secret(pw)); err != nil {
		return fmt.Errorf("adminuser: %s: %s", EnvPassword, strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": "))
	}
	return nil
}

// warnIfDifferent logs when WHARF_ADMIN_PASSWORD is not the admin's
// password: it only sets the first one.
func warnIfDifferent(path string, pw auth.Secret, log *slog.Logger) {
	hash, err := Read(path)
	if err != nil {
		return // the server reports an unreadable file itself
	}
	if ok, err := password.Verify(context.Background(), hash, pw); err == nil && ok {
		return
	}
	log.Warn(EnvPassword+" is not applied: the admin account already exists and keeps its password; change it with `wharf user passwd admin`", "file", path)
}

// generate returns a random password of 24 characters (144 bits).
func generate() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("adminuser: password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// write hashes pw at cost (the password rules apply) and replaces the hash
// file.
func write(path string, pw auth.Secret, cost int) error {
	hash, err := accounts.HashPassword(pw, cost)
	if err != nil {
		return fmt.Errorf("adminuser: %w", err)
	}
	if err := atomicfile.Write(path, []byte(Name+":"+hash+"\n"), 0o600); err != nil {
		return fmt.Errorf("adminuser: %w", err)
	}
	return nil
}

// Read returns the admin's bcrypt hash from its file.
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
		return nil, fmt.Errorf("adminuser: %s holds no admin entry; set a password with `wharf user passwd admin`", path)
	}
	return hash, nil
}

// SetPassword gives the admin a new password, hashed at cost (0:
// accounts.DefaultCost; the password rules apply), and removes a generated
// password's file, which no longer holds it.
func SetPassword(dir datadir.Dir, pw auth.Secret, cost int) error {
	if err := dir.CreateAuth(); err != nil {
		return fmt.Errorf("adminuser: %w", err)
	}
	if err := write(dir.AdminHash(), pw, cost); err != nil {
		return err
	}
	if err := os.Remove(dir.AdminPassword()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("adminuser: %w", err)
	}
	return nil
}
