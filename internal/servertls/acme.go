package servertls

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"wharf/internal/config"
	"wharf/internal/datadir"
)

// acmeTLS returns a TLS configuration whose certificates come from the
// configured ACME server, obtained on the first handshake for each domain
// and renewed before they expire. Challenges are answered with TLS-ALPN-01
// on the registry's own port; certificates and the account key are kept in
// the data directory's acme/.
func (s *setup) acmeTLS() (*tls.Config, error) {
	c := s.cfg.ACME
	dir := c.Directory
	if dir == "" {
		dir = config.DefaultACMEDirectory
	}
	httpClient := http.DefaultClient
	if c.CARoot != "" {
		b, err := os.ReadFile(c.CARoot)
		if err != nil {
			return nil, fmt.Errorf("acme.ca_root: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("acme.ca_root: %s holds no PEM certificate", c.CARoot)
		}
		httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(datadir.New(s.cfg.Data).ACME()),
		HostPolicy: autocert.HostWhitelist(c.Domains...),
		Email:      c.Email,
		Client:     &acme.Client{DirectoryURL: dir, HTTPClient: httpClient},
	}
	s.log.Info("certificates come from ACME", "directory", dir, "domains", c.Domains)
	return serverTLS(m.TLSConfig()), nil
}
