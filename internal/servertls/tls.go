package servertls

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
	"wharf/internal/config"
	"wharf/internal/datadir"
)

// autoRenewBefore is how long before expiry tls: auto renews its server
// certificate.
const autoRenewBefore = 30 * 24 * time.Hour

// Config returns the TLS configuration of cfg's listeners for tls: files,
// auto or acme, or nil for tls: off (see serverTLS for what they share).
// listening is the main listener's address: tls: auto's messages name its
// port. The certificate is read through a reloader, so a renewed file is
// served without a restart; tls: auto renews its own until ctx ends. With
// client CAs, clients must present a certificate they sign (mutual TLS).
func Config(ctx context.Context, cfg config.Config, listening net.Addr, log *slog.Logger) (*tls.Config, error) {
	return (&setup{cfg: cfg, log: log}).tlsConfig(ctx, listening)
}

// setup is what the TLS modes read: the configuration and the log.
type setup struct {
	cfg config.Config
	log *slog.Logger
}

func (s *setup) tlsConfig(ctx context.Context, listening net.Addr) (*tls.Config, error) {
	var certPath, keyPath string
	switch s.cfg.TLS {
	case "files":
		certPath, keyPath = s.cfg.TLSFiles.Certificate, s.cfg.TLSFiles.Key
	case "acme":
		return s.acmeTLS()
	case "auto":
		var err error
		_, port, _ := net.SplitHostPort(listening.String())
		if certPath, keyPath, err = s.ensureAutoCert(port, true); err != nil {
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
	tc := serverTLS(&tls.Config{GetCertificate: rl.get})
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

// aeadSuites are the TLS 1.2 cipher suites wharf's servers accept: ECDHE
// key exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305. Go's
// defaults also accept AES-CBC with HMAC-SHA1, which is open to padding-
// oracle and Lucky13-style attacks; every client that speaks TLS 1.2 has
// offered an AEAD suite for a decade. TLS 1.3's suites are all AEAD and
// not configurable.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// serverTLS sets what every TLS configuration wharf serves with shares:
// TLS 1.2 at least, and AEAD cipher suites only.
func serverTLS(tc *tls.Config) *tls.Config {
	tc.MinVersion = tls.VersionTLS12
	tc.CipherSuites = slices.Clone(aeadSuites)
	return tc
}

// autoNames are the names the generated certificate covers. names are
// required: the local CA is replaced when it may not sign for one of
// them. optional is the host's own name, covered while the CA permits it:
// it changes with every container, and that must not replace a CA that
// clients trust.
func (s *setup) autoNames() (names, optional []string) {
	names = []string{"localhost", "127.0.0.1", "::1"}
	for _, addr := range []string{s.cfg.Addr, s.cfg.TokenAddr} { // the token listener serves the same certificate
		if host, _, err := net.SplitHostPort(addr); err == nil && host != "" && host != "0.0.0.0" && host != "::" {
			names = append(names, host)
		}
	}
	names = append(names, s.cfg.TLSNames...)
	slices.Sort(names)
	names = slices.Compact(names)
	// A host name that cannot be a DNS name (a container's may be all
	// digits) is no name clients use.
	if h, err := os.Hostname(); err == nil {
		if d, _, err := certs.ParseName(h); err == nil && d != "" && !slices.Contains(names, d) {
			optional = []string{d}
		}
	}
	return names, optional
}

// ensureAutoCert makes or renews the tls: auto certificate and says what
// it did. At start-up it also reports, once, a CA without name
// constraints and names the CA may not sign for.
func (s *setup) ensureAutoCert(port string, startup bool) (string, string, error) {
	names, optional := s.autoNames()
	res, err := certs.EnsureServerCert(datadir.New(s.cfg.Data).TLS(),
		certs.AutoOptions{Names: names, Optional: optional, RenewBefore: autoRenewBefore})
	if err != nil {
		return "", "", fmt.Errorf("servertls: tls auto: %w", err)
	}
	switch {
	case res.Replaced:
		s.log.Warn("made a new local CA and server certificate: clients must trust the new "+res.CACert+"; until they do, they refuse this server",
			"reason", res.CAReason, "ca", res.CACert, "names", res.Covered)
		if !startup { // at start-up the server's start lines say how
			s.log.Warn(TrustHint(res.CACert, port))
		}
	case res.NewCA:
		s.log.Info("generated a local CA and a server certificate it signs; the CA may sign for these names only",
			"ca", res.CACert, "certificate", res.CertPath, "names", res.Covered)
	case res.Issued:
		s.log.Info("issued a new server certificate from the local CA", "reason", res.Reason, "certificate", res.CertPath, "names", res.Covered)
	}
	if !startup {
		return res.CertPath, res.KeyPath, nil
	}
	if res.Unconstrained {
		dir := filepath.Dir(res.CACert)
		s.log.Warn("the local CA "+res.CACert+" has no name constraints (an earlier wharf made it): whoever gets "+
			filepath.Join(dir, certs.CAKeyFile)+", from a backup say, can make certificates for any host that its clients accept. "+
			"It is kept so that clients keep working. To replace it with a CA limited to this server's names: "+
			"rm "+res.CACert+" "+filepath.Join(dir, certs.CAKeyFile)+" and restart wharf, then give clients the new ca.crt",
			"ca", res.CACert)
	}
	if len(res.LeftOut) > 0 {
		s.log.Info("left out of the server certificate: the local CA may not sign for them; "+
			"add those that clients use to tls_names, which makes a new CA (clients must then trust its ca.crt)",
			"names", res.LeftOut, "ca", res.CACert)
	}
	return res.CertPath, res.KeyPath, nil
}

// TrustHint says how clients trust the local CA: per registry address,
// which is what docker reads, rather than in the system store, where the
// CA would be trusted for every program on the machine. The server logs it
// on every start with tls: auto, and this package when a renewal brings a
// new CA.
func TrustHint(ca, port string) string {
	dir := "/etc/docker/certs.d/HOST:" + port
	return "to trust it, on each docker client (HOST as in image names): mkdir -p " + dir + " && cp " + ca + " " + dir + "/ca.crt; " +
		"podman, skopeo, buildah: /etc/containers/certs.d/HOST:" + port + "/ca.crt; curl: --cacert " + ca
}

// renewAutoCert checks twice a day whether the generated certificate needs
// renewing; the reloader then serves the new one.
func (s *setup) renewAutoCert(ctx context.Context, port string) {
	t := time.NewTicker(12 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, _, err := s.ensureAutoCert(port, false); err != nil {
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
