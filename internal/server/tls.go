package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"wharf/internal/certs"
)

// autoRenewBefore is how long before expiry tls: auto renews its server
// certificate.
const autoRenewBefore = 30 * 24 * time.Hour

// tlsConfig builds the server's TLS configuration for tls: files or auto.
// TLS 1.2 is the minimum. The certificate is read through a reloader, so a
// renewed file is served without a restart. With client CAs, clients must
// present a certificate they sign (mutual TLS).
func (s *Server) tlsConfig(ctx context.Context, listening net.Addr) (*tls.Config, error) {
	var certPath, keyPath string
	switch s.cfg.TLS {
	case "files":
		certPath, keyPath = s.cfg.TLSFiles.Certificate, s.cfg.TLSFiles.Key
	case "acme":
		return s.acmeTLS()
	case "auto":
		var err error
		_, port, _ := net.SplitHostPort(listening.String())
		if certPath, keyPath, err = s.ensureAutoCert(port); err != nil {
			return nil, err
		}
		go s.renewAutoCert(ctx, port)
	default:
		return nil, nil
	}
	rl := &certReloader{certPath: certPath, keyPath: keyPath, log: s.log}
	if err := rl.load(); err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: rl.get}
	if cas := s.cfg.TLSFiles.ClientCAs; len(cas) > 0 {
		pool := x509.NewCertPool()
		for _, p := range cas {
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

// autoNames are the names the generated certificate covers.
func (s *Server) autoNames() []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	if host, _, err := net.SplitHostPort(s.cfg.Addr); err == nil && host != "" && host != "0.0.0.0" && host != "::" {
		names = append(names, host)
	}
	names = append(names, s.cfg.TLSNames...)
	slices.Sort(names)
	return slices.Compact(names)
}

func (s *Server) ensureAutoCert(port string) (string, string, error) {
	dir := filepath.Join(s.cfg.Data, "tls")
	certPath, keyPath, changed, err := certs.EnsureServerCert(dir, s.autoNames(), autoRenewBefore, time.Now)
	if err != nil {
		return "", "", fmt.Errorf("server: tls auto: %w", err)
	}
	if changed {
		ca := filepath.Join(dir, "ca.crt")
		s.log.Info("generated a server certificate signed by wharf's local CA", "certificate", certPath, "ca", ca, "names", s.autoNames())
		s.log.Info("to trust it: docker: mkdir -p /etc/docker/certs.d/HOST:" + port + " && cp " + ca + " /etc/docker/certs.d/HOST:" + port + "/ca.crt; " +
			"system (curl, skopeo, crane): cp " + ca + " /usr/local/share/ca-certificates/wharf.crt && update-ca-certificates")
	}
	return certPath, keyPath, nil
}

// renewAutoCert checks twice a day whether the generated certificate needs
// renewing; the reloader then serves the new one.
func (s *Server) renewAutoCert(ctx context.Context, port string) {
	t := time.NewTicker(12 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, _, err := s.ensureAutoCert(port); err != nil {
				s.log.Error("renewing the server certificate failed", "err", err)
			}
		}
	}
}

// certReloader serves a certificate from files and reloads it when they
// change (checked at most every few seconds). A reload that fails keeps the
// certificate in use and logs why.
type certReloader struct {
	certPath, keyPath string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

const reloadCheckEvery = 5 * time.Second

func fileStamp(paths ...string) string {
	var s string
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			s += fi.ModTime().String() + "/" + strconv.FormatInt(fi.Size(), 10) + ";"
		}
	}
	return s
}

func (r *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.certPath, r.keyPath)
	if err != nil {
		return fmt.Errorf("tls: %s and %s: %w (check that both files exist and belong together)", r.certPath, r.keyPath, err)
	}
	r.mu.Lock()
	r.cert, r.stamp, r.checked = &cert, fileStamp(r.certPath, r.keyPath), time.Now()
	r.mu.Unlock()
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	due := time.Since(r.checked) > reloadCheckEvery
	if due {
		r.checked = time.Now()
	}
	cert, stamp := r.cert, r.stamp
	r.mu.Unlock()
	if due && fileStamp(r.certPath, r.keyPath) != stamp {
		if err := r.load(); err != nil {
			r.log.Error("reloading the TLS certificate failed; still serving the previous one", "err", err)
		} else {
			r.log.Info("reloaded the TLS certificate", "certificate", r.certPath)
			r.mu.Lock()
			cert = r.cert
			r.mu.Unlock()
		}
	}
	return cert, nil
}
