package resolve

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"

	"wharf/internal/auth/token"
	"wharf/internal/certs"
	"wharf/internal/config"
	"wharf/internal/datadir"
)

// Preflight checks, for a server command (serve, registry, auth), what c
// names on disk and what only certificates' rules can judge, before the
// server creates anything: a mistake found after the data directory, the
// database and the token key were made leaves a half-made installation
// behind. It reads the TLS and token files, the CA bundles, the DSN file
// and the names certificates would carry, and checks that the data
// directory can be written. Every problem is reported at once, as Config
// reports its own; Problems splits them.
func Preflight(c config.Config) error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, annotate(c.Sources, err))
		}
	}
	if _, err := c.Database.ResolveDSN(); err != nil {
		add(err)
	}
	for i, n := range c.TLSNames {
		if _, _, err := certs.ParseName(n); err != nil {
			add(fmt.Errorf("tls_names[%d]: %w", i, err))
		}
	}
	switch c.TLS {
	case "files":
		add(keyPair("tls_files", c.TLSFiles.Certificate, c.TLSFiles.Key))
		for i, p := range c.TLSFiles.ClientCAs {
			add(pemCertificates(fmt.Sprintf("tls_files.client_cas[%d]", i), p))
		}
	case "acme":
		errs = append(errs, checkACME(c.ACME)...)
	}
	if c.Auth == "token" {
		if c.Role != config.RoleRegistry && c.Token.Certificate != "" {
			add(signingPair(c.Token.Certificate, c.Token.Key))
		}
		if c.Token.RootCertBundle != "" {
			add(pemCertificates("token.rootcertbundle", c.Token.RootCertBundle))
		}
		if c.Token.JWKS != "" {
			add(jwks(c.Token.JWKS))
		}
	}
	for _, err := range checkSectionFiles(c) {
		add(err)
	}
	if err := datadir.New(c.Data).Writable(); err != nil {
		add(fmt.Errorf("data: %w", err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n%w", errors.Join(errs...))
	}
	return nil
}

// keyPair loads a server certificate and its key as the listener will.
func keyPair(key, certPath, keyPath string) error {
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		return fmt.Errorf("%s: %w (certificate %s, key %s; `wharf certs show FILE` says what a file holds)", key, err, certPath, keyPath)
	}
	return nil
}

// signingPair reads the token-signing key and certificate as the token
// server will, and checks that they belong together: tokens signed with
// another key would be refused by every registry trusting the certificate.
func signingPair(certPath, keyPath string) error {
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return fmt.Errorf("token.key: %w", err)
	}
	key, err := token.ParsePrivateKeyPEM(b)
	if err != nil {
		return fmt.Errorf("token.key: %s: %w", keyPath, err)
	}
	if b, err = os.ReadFile(certPath); err != nil {
		return fmt.Errorf("token.certificate: %w", err)
	}
	chain, err := token.ParseCertificatesPEM(b)
	if err != nil {
		return fmt.Errorf("token.certificate: %s: %w", certPath, err)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(chain[0].PublicKey) {
		return fmt.Errorf("token: the key %s does not belong to the certificate %s (its first certificate must be the key's)", keyPath, certPath)
	}
	return nil
}

// pemCertificates checks that path holds PEM certificates.
func pemCertificates(key, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return fmt.Errorf("%s: %s holds no PEM certificate", key, path)
	}
	return nil
}

func jwks(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("token.jwks: %w", err)
	}
	if _, err := token.ParseJWKS(b); err != nil {
		return fmt.Errorf("token.jwks: %s: %w", path, err)
	}
	return nil
}

// checkACME checks what tls: acme would find wrong only when the first
// client connects: a domain no certificate can name, an e-mail address the
// CA refuses, a directory that is no URL, an unreadable CA bundle.
func checkACME(a config.ACME) []error {
	var errs []error
	for i, d := range a.Domains {
		if _, _, err := certs.ParseName(d); err != nil {
			errs = append(errs, fmt.Errorf("acme.domains[%d]: %w", i, err))
		}
	}
	if a.Email != "" {
		if m, err := mail.ParseAddress(a.Email); err != nil || m.Address != a.Email {
			errs = append(errs, fmt.Errorf("acme.email: %q is not an e-mail address such as ops@example.com", a.Email))
		}
	}
	if a.Directory != "" {
		if u, err := url.Parse(a.Directory); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("acme.directory: %q is not an http(s) URL such as %s", a.Directory, config.DefaultACMEDirectory))
		}
	}
	if a.CARoot != "" {
		if err := pemCertificates("acme.ca_root", a.CARoot); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
