package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"wharf/internal/auth/token"
)

// The file names Init and EnsureServerCert write inside their directory.
const (
	CACertFile     = "ca.crt"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.crt"
	ServerKeyFile  = "server.key"
	TokenCertFile  = "token.crt"
	TokenKeyFile   = "token.key"
)

// Permissions: keys are readable by their owner only, certificates by
// anyone (they are public), the directory holding keys by its owner.
const (
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
	dirMode  fs.FileMode = 0o700
)

// ErrExists means Init would overwrite a file and was not told to.
var ErrExists = errors.New("certs: file exists")

// InitOptions say what Init makes. Zero values mean the defaults.
type InitOptions struct {
	// Dir receives the files; it is created with mode 0700 if missing
	// (an existing directory keeps its mode).
	Dir string
	// Names are the server certificate's DNS names and IP addresses; the
	// first is its common name.
	Names []string
	// KeyKind is the kind of every key made; default ECDSA P-256.
	KeyKind token.KeyKind
	// CAName is the CA's common name; default "Wharf CA".
	CAName string
	// TokenName is the token-signing certificate's common name; default
	// "Wharf token signer".
	TokenName string
	// Validities; defaults DefaultCAValidity, DefaultServerValidity and
	// DefaultSigningValidity.
	CAValidity, ServerValidity, SigningValidity time.Duration
	// NoCAKey drops the CA key once the certificates are signed, so that
	// nothing on this host can issue more; ca.key is neither written nor
	// kept. Renewal then needs a new CA.
	NoCAKey bool
	// Force replaces existing files; without it Init refuses to touch any.
	Force bool
}

// Files are the paths Init wrote. CAKey is empty with NoCAKey.
type Files struct {
	Dir                   string
	CACert, CAKey         string
	ServerCert, ServerKey string
	TokenCert, TokenKey   string
}

// Paths lists the files written, in the order Init writes them.
func (f Files) Paths() []string {
	var out []string
	for _, p := range []string{f.CACert, f.CAKey, f.ServerCert, f.ServerKey, f.TokenCert, f.TokenKey} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Init makes a CA, a server certificate for opts.Names and a
// token-signing certificate, and writes them into opts.Dir. It checks for
// existing files before making anything, so a refusal leaves the
// directory as it was.
func Init(opts InitOptions) (Files, error) {
	return initAt(opts, time.Now())
}

func initAt(opts InitOptions, now time.Time) (Files, error) {
	if opts.Dir == "" {
		return Files{}, errors.New("certs: no directory given")
	}
	if _, _, err := ParseNames(opts.Names); err != nil {
		return Files{}, err
	}
	opts = withDefaults(opts)
	f := Files{
		Dir:        opts.Dir,
		CACert:     filepath.Join(opts.Dir, CACertFile),
		CAKey:      filepath.Join(opts.Dir, CAKeyFile),
		ServerCert: filepath.Join(opts.Dir, ServerCertFile),
		ServerKey:  filepath.Join(opts.Dir, ServerKeyFile),
		TokenCert:  filepath.Join(opts.Dir, TokenCertFile),
		TokenKey:   filepath.Join(opts.Dir, TokenKeyFile),
	}
	if !opts.Force {
		// ca.key is checked with NoCAKey too: a leftover key of another CA
		// next to the new ca.crt would mislead whoever finds it.
		for _, p := range []string{f.CACert, f.CAKey, f.ServerCert, f.ServerKey, f.TokenCert, f.TokenKey} {
			if _, err := os.Lstat(p); err == nil {
				return Files{}, fmt.Errorf("%w: %s already exists; use --force to replace it (and every other file in %s)", ErrExists, p, opts.Dir)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return Files{}, fmt.Errorf("certs: %w", err)
			}
		}
	}
	ca, err := newCA(opts.CAName, opts.KeyKind, opts.CAValidity, now)
	if err != nil {
		return Files{}, err
	}
	serverCert, serverKey, err := ca.issueServer(opts.Names, opts.KeyKind, opts.ServerValidity, now)
	if err != nil {
		return Files{}, err
	}
	tokenCert, tokenKey, err := ca.issueSigning(opts.TokenName, opts.KeyKind, opts.SigningValidity, now)
	if err != nil {
		return Files{}, err
	}
	caKey, err := ca.KeyPEM()
	if err != nil {
		return Files{}, err
	}
	if err := ensureDir(opts.Dir); err != nil {
		return Files{}, err
	}
	writes := []struct {
		path string
		data []byte
		mode fs.FileMode
	}{
		{f.CACert, ca.CertPEM(), certMode},
		{f.CAKey, caKey, keyMode},
		{f.ServerCert, serverCert, certMode},
		{f.ServerKey, serverKey, keyMode},
		{f.TokenCert, tokenCert, certMode},
		{f.TokenKey, tokenKey, keyMode},
	}
	for _, w := range writes {
		if opts.NoCAKey && w.path == f.CAKey {
			continue
		}
		if err := writeFileAtomic(w.path, w.data, w.mode); err != nil {
			return Files{}, err
		}
	}
	if opts.NoCAKey {
		if err := os.Remove(f.CAKey); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Files{}, fmt.Errorf("certs: remove the old CA key: %w", err)
		}
		f.CAKey = ""
	}
	return f, nil
}

func withDefaults(o InitOptions) InitOptions {
	if o.CAName == "" {
		o.CAName = "Wharf CA"
	}
	if o.TokenName == "" {
		o.TokenName = "Wharf token signer"
	}
	if o.CAValidity == 0 {
		o.CAValidity = DefaultCAValidity
	}
	if o.ServerValidity == 0 {
		o.ServerValidity = DefaultServerValidity
	}
	if o.SigningValidity == 0 {
		o.SigningValidity = DefaultSigningValidity
	}
	return o
}

// EnsureServerCert keeps <dir>/server.crt and server.key valid for names,
// as `tls: auto` needs at every start: it creates the CA (ca.crt, ca.key)
// and the server certificate when missing, reissues the server
// certificate from the same CA when it expires within renewBefore, does
// not cover every name, was not signed by ca.crt, or does not match its
// key, and otherwise leaves every file alone (changed is false). Keeping
// the CA means clients that trust ca.crt keep working after a renewal.
//
// A renewal needs ca.key; without it the error says so. Every write is
// atomic, so a crash never leaves a half-written certificate.
func EnsureServerCert(dir string, names []string, renewBefore time.Duration, now func() time.Time) (certPath, keyPath string, changed bool, err error) {
	if now == nil {
		now = time.Now
	}
	t := now()
	certPath, keyPath = filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile)
	if _, _, err := ParseNames(names); err != nil {
		return "", "", false, err
	}
	caCertPath, caKeyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	caCertPEM, errCert := os.ReadFile(caCertPath)
	caKeyPEM, errKey := os.ReadFile(caKeyPath)
	for _, e := range []error{errCert, errKey} {
		if e != nil && !errors.Is(e, fs.ErrNotExist) {
			return "", "", false, fmt.Errorf("certs: %w", e)
		}
	}

	var ca *Authority
	switch {
	case errCert != nil && errKey != nil: // first start
		if err := ensureDir(dir); err != nil {
			return "", "", false, err
		}
		if ca, err = newCA("Wharf CA", token.KeyECDSAP256, DefaultCAValidity, t); err != nil {
			return "", "", false, err
		}
		keyPEM, err := ca.KeyPEM()
		if err != nil {
			return "", "", false, err
		}
		// Key first: a crash between the two writes then leaves a key
		// without a certificate, which the next start reports, rather than
		// a certificate nothing can renew.
		if err := writeFileAtomic(caKeyPath, keyPEM, keyMode); err != nil {
			return "", "", false, err
		}
		if err := writeFileAtomic(caCertPath, ca.CertPEM(), certMode); err != nil {
			return "", "", false, err
		}
	case errCert != nil:
		return "", "", false, fmt.Errorf("certs: %s exists but %s does not; restore the CA certificate or remove %s to make a new CA (clients must then trust the new ca.crt)",
			caKeyPath, caCertPath, caKeyPath)
	case errKey == nil:
		if ca, err = parseCA(caCertPEM, caKeyPEM); err != nil {
			return "", "", false, fmt.Errorf("%w (%s, %s)", err, caCertPath, caKeyPath)
		}
	default: // certificate without key: fine while nothing needs issuing
		certs, err := token.ParseCertificatesPEM(caCertPEM)
		if err != nil {
			return "", "", false, fmt.Errorf("certs: %s: %w", caCertPath, err)
		}
		ca = &Authority{Cert: certs[0]}
	}

	reason := serverCertProblem(certPath, keyPath, ca.Cert, names, renewBefore, t)
	if reason == "" {
		return certPath, keyPath, false, nil
	}
	if ca.Key == nil {
		return "", "", false, fmt.Errorf("certs: %s must be reissued (%s) but %s is missing; restore it, or remove %s to make a new CA",
			certPath, reason, caKeyPath, caCertPath)
	}
	certPEM, keyPEM, err := ca.issueServer(names, token.KeyECDSAP256, DefaultServerValidity, t)
	if err != nil {
		return "", "", false, err
	}
	// Key before certificate: Go's tls and nginx load both at start-up,
	// and a crash in between is repaired by the next run (mismatch).
	if err := writeFileAtomic(keyPath, keyPEM, keyMode); err != nil {
		return "", "", false, err
	}
	if err := writeFileAtomic(certPath, certPEM, certMode); err != nil {
		return "", "", false, err
	}
	return certPath, keyPath, true, nil
}

// serverCertProblem says why the server certificate must be (re)issued,
// or "" when it is fine.
func serverCertProblem(certPath, keyPath string, ca *x509.Certificate, names []string, renewBefore time.Duration, now time.Time) string {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return "cannot read it: " + err.Error()
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return "cannot read its key: " + err.Error()
	}
	certs, err := token.ParseCertificatesPEM(certPEM)
	if err != nil {
		return err.Error()
	}
	leaf := certs[0]
	key, err := token.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return "its key: " + err.Error()
	}
	if !samePublicKey(leaf.PublicKey, key.Public()) {
		return "its key does not match"
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return "not signed by the CA"
	}
	for _, n := range names {
		d, ip, _ := ParseName(n)
		if ip != nil {
			d = ip.String()
		}
		if leaf.VerifyHostname(d) != nil {
			return fmt.Sprintf("does not cover %s", d)
		}
	}
	if now.Before(leaf.NotBefore) {
		return "not valid yet"
	}
	// Renew when close to the end, unless the CA ends first: a new leaf
	// could not outlive it, and reissuing at every start would churn.
	if leaf.NotAfter.Before(now.Add(renewBefore)) && ca.NotAfter.After(leaf.NotAfter) {
		return fmt.Sprintf("expires on %s", leaf.NotAfter.Format(time.DateOnly))
	}
	return ""
}

// ensureDir creates dir with mode 0700 when it is missing.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory is written, synced and renamed over path, then the directory
// is synced, so readers see the old or the new file, never a part.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600; set the final mode before any byte
	// of a key could be read through a laxer one.
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("certs: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every file system syncs directories
		_ = d.Close()
	}
	return nil
}
