package datadir

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"wharf/internal/certs"
)

// The layout of a data directory.
const (
	blobsDir      = "blobs"    // the storage driver's root
	databaseFile  = "wharf.db" // SQLite, the default metadata database
	tlsDir        = "tls"      // tls: auto's local CA and server certificate
	authDir       = "auth"     // the token server's keys and passwords
	acmeDir       = "acme"     // tls: acme's account key and certificates
	lockFile      = "serve.lock"
	quarantineDir = "quarantine" // corrupt blobs wharf fsck --repair moved out of blobs/
	spoolDir      = "spool"      // blobs being pulled through, unlinked as soon as created
	quarantine    = "quarantine" // corrupt blobs wharf fsck --repair moved out of blobs/

	adminHashFile     = "admin.htpasswd"           // the built-in admin's bcrypt hash, in earlier releases
	adminPasswordFile = "admin.password"           // its generated first password
	signInsFile       = "sign-ins.db"              // browser sign-ins
	upstreamKeyFile   = "upstream-credentials.key" // seals the stored upstream credentials
)

// Mode is the mode the data directory and its subdirectories are created
// with: they hold the metadata database, keys, password hashes and blobs.
const Mode fs.FileMode = 0o700

// secretDirs are the subdirectories holding private keys and password
// hashes: auth/ (token.key, admin.password, sign-ins.db), tls/ (ca.key,
// server.key) and acme/ (account and certificate keys).
var secretDirs = []string{authDir, tlsDir, acmeDir}

// Dir is a data directory. Its paths are joined to the root as given:
// relative when the root is.
type Dir struct{ root string }

// New returns the data directory at root (--data, WHARF_DATA). It touches
// nothing on disk.
func New(root string) Dir { return Dir{root: root} }

// Root is the directory itself.
func (d Dir) Root() string { return d.root }

// Create makes the data directory (mode 0700) if it does not exist; an
// existing one keeps its mode (CheckModes reports a loose one). It refuses,
// creating nothing, a registry:2 storage root (ErrDistributionTree): every
// command that opens a data directory comes through here first.
func (d Dir) Create() error {
	if err := d.checkNotDistribution(); err != nil {
		return err
	}
	if err := os.MkdirAll(d.root, Mode); err != nil {
		return fmt.Errorf("datadir: %s: %w (check --data and its permissions)", d.root, err)
	}
	return nil
}

// Blobs is the blob storage's root directory.
func (d Dir) Blobs() string { return filepath.Join(d.root, blobsDir) }

// Spool holds the bytes of blobs the pull-through cache is downloading,
// in files unlinked as soon as they are created.
func (d Dir) Spool() string { return filepath.Join(d.root, spoolDir) }

// Quarantine is the directory wharf fsck --repair moves corrupt blobs to,
// with a note beside each; nothing deletes them.
func (d Dir) Quarantine() string { return filepath.Join(d.root, quarantineDir) }

// Database is the SQLite metadata database used when the configuration
// names none.
func (d Dir) Database() string { return filepath.Join(d.root, databaseFile) }

// TLS is the directory of tls: auto's local CA and server certificate
// (certs.EnsureServerCert writes it).
func (d Dir) TLS() string { return filepath.Join(d.root, tlsDir) }

// TLSCACert is tls: auto's local CA certificate, which clients trust.
func (d Dir) TLSCACert() string { return filepath.Join(d.TLS(), certs.CACertFile) }

// TLSServerCert is tls: auto's server certificate, signed by TLSCACert.
func (d Dir) TLSServerCert() string { return filepath.Join(d.TLS(), certs.ServerCertFile) }

// TLSServerKey is the key of TLSServerCert.
func (d Dir) TLSServerKey() string { return filepath.Join(d.TLS(), certs.ServerKeyFile) }

// ACME is tls: acme's cache: the account key and the certificates.
func (d Dir) ACME() string { return filepath.Join(d.root, acmeDir) }

// Auth is the directory of the token server's files.
func (d Dir) Auth() string { return filepath.Join(d.root, authDir) }

// CreateAuth makes Auth (mode 0700) if it does not exist.
func (d Dir) CreateAuth() error {
	if err := os.MkdirAll(d.Auth(), Mode); err != nil {
		return fmt.Errorf("datadir: auth directory: %w", err)
	}
	return nil
}

// TokenKey is the token-signing key generated on first start when
// token.key is not set.
func (d Dir) TokenKey() string { return filepath.Join(d.Auth(), certs.TokenKeyFile) }

// TokenCert is the self-signed certificate of TokenKey.
func (d Dir) TokenCert() string { return filepath.Join(d.Auth(), certs.TokenCertFile) }

// AdminHash is where earlier releases kept the bcrypt hash of the built-in
// admin's password; wharf serve moves it into the account database.
func (d Dir) AdminHash() string { return filepath.Join(d.Auth(), adminHashFile) }

// AdminHashMigrated is what AdminHash, read by earlier releases, is
// renamed to once its hash is in the account database.
func (d Dir) AdminHashMigrated() string { return d.AdminHash() + ".migrated" }

// AdminPassword is where a generated first admin password is written.
func (d Dir) AdminPassword() string { return filepath.Join(d.Auth(), adminPasswordFile) }

// SignIns is the SQLite file of browser sign-ins of earlier releases,
// imported once into the metadata database.
func (d Dir) SignIns() string { return filepath.Join(d.Auth(), signInsFile) }

// UpstreamCredentialsKey is the key that seals the pull-through cache's
// upstream credentials stored in the database, when
// proxy.credentials_key_file names none; created on first use.
func (d Dir) UpstreamCredentialsKey() string { return filepath.Join(d.Auth(), upstreamKeyFile) }

// TokenKeyImported is what TokenKey is renamed to once imported into the
// metadata database.
func (d Dir) TokenKeyImported() string { return d.TokenKey() + ".imported" }

// SignInsImported is what SignIns is renamed to once imported.
func (d Dir) SignInsImported() string { return d.SignIns() + ".imported" }

// LockFile is the file `wharf serve` holds a lock on (Lock).
func (d Dir) LockFile() string { return filepath.Join(d.root, lockFile) }
