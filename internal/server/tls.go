package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"wharf/internal/config"
)

// tlsConfig loads tls: files. TLS 1.2 is the minimum; with client CAs,
// clients must present a certificate they sign (mutual TLS), as
// distribution's http.tls.clientcas.
func tlsConfig(f config.TLSFiles) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.Certificate, f.Key)
	if err != nil {
		return nil, fmt.Errorf("tls_files: %w (check that the certificate and key files exist and belong together)", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if len(f.ClientCAs) > 0 {
		pool := x509.NewCertPool()
		for _, p := range f.ClientCAs {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("tls_files.client_cas: %w", err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("tls_files.client_cas: %s holds no PEM certificate", p)
			}
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
