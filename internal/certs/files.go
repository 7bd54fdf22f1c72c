package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wharf/internal/atomicfile"
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
	// first is its common name. The CA may sign for these only.
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
	ca, err := newCA(opts.CAName, opts.Names, opts.KeyKind, opts.CAValidity, now)
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

// AutoOptions say what EnsureServerCert's server certificate covers and
// when it is renewed.
type AutoOptions struct {
	// Names must be covered. When the CA may not sign for one of them (a
	// name added to the configuration), a new CA is made: clients must
	// then trust the new ca.crt.
	Names []string
	// Optional names are covered while the CA permits them and left out
	// (reported in AutoResult.LeftOut) otherwise: the host's own name
	// changes with every container, and that must not replace a CA that
	// clients trust.
	Optional []string
	// RenewBefore is how long before it expires the certificate is
	// renewed.
	RenewBefore time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// AutoResult says what EnsureServerCert found and did.
type AutoResult struct {
	CACert, CertPath, KeyPath string
	// Covered are the names the server certificate is made for.
	Covered []string
	// Issued means server.crt and server.key were written; Reason says why.
	Issued bool
	Reason string
	// NewCA means ca.crt and ca.key were made: at the first start, or
	// (Replaced) because the previous CA may not sign for a required
	// name, which CAReason names. Clients must trust the new ca.crt.
	NewCA, Replaced bool
	CAReason        string
	// Unconstrained means the CA has no name constraints: it was made by
	// an earlier wharf, and its key can sign for any host. It is kept, so
	// that clients trusting it keep working; the caller should say how to
	// replace it.
	Unconstrained bool
	// LeftOut are the optional names the CA may not sign for.
	LeftOut []string
}

// EnsureServerCert keeps <dir>/server.crt and server.key valid for
// opts.Names, as `tls: auto` needs at every start. It creates the CA
// (ca.crt, ca.key, constrained to the names) and the server certificate
// when missing; replaces the CA when it may not sign for one of
// opts.Names; reissues the server certificate from the CA when it expires
// within opts.RenewBefore, does not cover every name, was not signed by
// ca.crt, or does not match its key; and otherwise leaves every file
// alone. Keeping the CA whenever it can serve means clients that trust
// ca.crt keep working after a renewal.
//
// Issuing needs ca.key; without it the error says so. Every write is
// atomic, so a crash never leaves a half-written file.
func EnsureServerCert(dir string, opts AutoOptions) (AutoResult, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	t := now()
	res := AutoResult{
		CACert:   filepath.Join(dir, CACertFile),
		CertPath: filepath.Join(dir, ServerCertFile),
		KeyPath:  filepath.Join(dir, ServerKeyFile),
	}
	caKeyPath := filepath.Join(dir, CAKeyFile)
	all := append(append([]string{}, opts.Names...), opts.Optional...)
	if _, _, err := ParseNames(all); err != nil {
		return AutoResult{}, err
	}
	ca, err := readAutoCA(res.CACert, caKeyPath)
	if err != nil {
		return AutoResult{}, err
	}
	switch {
	case ca == nil: // first start
		if ca, err = writeAutoCA(dir, all, t); err != nil {
			return AutoResult{}, err
		}
		res.NewCA, res.CAReason = true, "no CA yet"
	case len(ca.Forbidden(opts.Names)) > 0:
		bad := strings.Join(ca.Forbidden(opts.Names), ", ")
		if ca.Key == nil {
			return AutoResult{}, fmt.Errorf("certs: the CA in %s may not sign for %s and %s is missing; remove %s to make a new CA for every name (clients must then trust the new ca.crt)",
				res.CACert, bad, caKeyPath, res.CACert)
		}
		if ca, err = writeAutoCA(dir, all, t); err != nil {
			return AutoResult{}, err
		}
		res.NewCA, res.Replaced, res.CAReason = true, true, "the previous CA may not sign for "+bad
	}
	res.Unconstrained = !ca.Constrained()
	res.Covered = append(res.Covered, opts.Names...)
	for _, n := range opts.Optional {
		if len(ca.Forbidden([]string{n})) > 0 {
			res.LeftOut = append(res.LeftOut, n)
		} else {
			res.Covered = append(res.Covered, n)
		}
	}

	res.Reason = serverCertProblem(res.CertPath, res.KeyPath, ca.Cert, res.Covered, opts.RenewBefore, t)
	if res.Reason == "" {
		return res, nil
	}
	if ca.Key == nil {
		return AutoResult{}, fmt.Errorf("certs: %s must be reissued (%s) but %s is missing; restore it, or remove %s to make a new CA",
			res.CertPath, res.Reason, caKeyPath, res.CACert)
	}
	certPEM, keyPEM, err := ca.issueServer(res.Covered, token.KeyECDSAP256, DefaultServerValidity, t)
	if err != nil {
		return AutoResult{}, err
	}
	// Key before certificate: Go's tls and nginx load both at start-up,
	// and a crash in between is repaired by the next run (mismatch).
	if err := writeFileAtomic(res.KeyPath, keyPEM, keyMode); err != nil {
		return AutoResult{}, err
	}
	if err := writeFileAtomic(res.CertPath, certPEM, certMode); err != nil {
		return AutoResult{}, err
	}
	res.Issued = true
	return res, nil
}

// readAutoCA reads ca.crt and ca.key: nil when neither exists, an
// Authority without Key when only the certificate does (enough while
// nothing needs issuing).
func readAutoCA(certPath, keyPath string) (*Authority, error) {
	certPEM, errCert := os.ReadFile(certPath)
	keyPEM, errKey := os.ReadFile(keyPath)
	for _, e := range []error{errCert, errKey} {
		if e != nil && !errors.Is(e, fs.ErrNotExist) {
			return nil, fmt.Errorf("certs: %w", e)
		}
	}
	switch {
	case errCert != nil && errKey != nil:
		return nil, nil
	case errCert != nil:
		return nil, fmt.Errorf("certs: %s exists but %s does not; restore the CA certificate or remove %s to make a new CA (clients must then trust the new ca.crt)",
			keyPath, certPath, keyPath)
	case errKey == nil:
		ca, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w (%s, %s); remove both to make a new CA (clients must then trust the new ca.crt)", err, certPath, keyPath)
		}
		return ca, nil
	}
	certs, err := token.ParseCertificatesPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", certPath, err)
	}
	return &Authority{Cert: certs[0]}, nil
}

// writeAutoCA makes a CA for names and writes it into dir, replacing any
// there.
func writeAutoCA(dir string, names []string, now time.Time) (*Authority, error) {
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	ca, err := newCA("Wharf CA", names, token.KeyECDSAP256, DefaultCAValidity, now)
	if err != nil {
		return nil, err
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		return nil, err
	}
	// Key first: a crash between the two writes then leaves a key
	// without its certificate, which the next start reports, rather than
	// a certificate nothing can renew.
	if err := writeFileAtomic(filepath.Join(dir, CAKeyFile), keyPEM, keyMode); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, CACertFile), ca.CertPEM(), certMode); err != nil {
		return nil, err
	}
	return ca, nil
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

// writeFileAtomic replaces path with data, whole or not at all.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if err := atomicfile.Write(path, data, mode); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}
