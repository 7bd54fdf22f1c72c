package testserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// runAs returns the credential a database server runs with. PostgreSQL and
// MariaDB refuse to run as root, so when the tests run as root (CI does) the
// server runs as the account Debian's package created for it; otherwise it
// runs as the current user and cred is nil.
func runAs(account string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(account)
	if err != nil {
		return nil, fmt.Errorf("the tests run as root and the server must not; user %q: %w (%s)", account, err, installHint)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// giveTo makes dir and everything below it belong to cred's user, and lets
// that user traverse dir's parents up to the temporary directory (t.TempDir
// creates them 0700).
func giveTo(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return err
	}
	return reachable(dir)
}

// randomPassword returns a password for a test server's account, so that
// the DSNs the tests use carry a real secret.
func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// databaseName turns a test name into a database name unique on its server:
// lowercase letters, digits and underscores, at most 63 bytes (PostgreSQL's
// limit; MariaDB's is 64).
func databaseName(seq int64, t testing.TB) string {
	ident := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(t.Name()))
	name := fmt.Sprintf("t%d_%s", seq, ident)
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.TrimRight(name, "_")
}
