package certs

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// adviceNames are the names the test CA may sign for.
var adviceNames = []string{"registry.example.com", "localhost", "127.0.0.1"}

// serveTLS starts a TLS server on a random loopback port with the
// certificate certPEM/keyPEM, handshaking with every client until the test
// ends, and returns its address.
func serveTLS(t *testing.T, certPEM, keyPEM []byte) string {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake() // fails when the client refuses the certificate
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// dial connects to addr as serverName, trusting only ca, and returns the
// handshake's error.
func dial(t *testing.T, addr, serverName string, ca *Authority) error {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12})
	if err == nil {
		c.Close()
	}
	return err
}

// TestAdviseTLS: each way a server's certificate fails verification, met
// in a real handshake, is named with what the certificate says and the
// fix, instead of "does not answer".
func TestAdviseTLS(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca, err := newCA("Advice CA", adviceNames, "", DefaultCAValidity, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, err := newCA("Someone else's CA", adviceNames, "", DefaultCAValidity, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := newCA("Narrow CA", []string{"registry.example.com"}, "", DefaultCAValidity, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *Authority, names []string, validity time.Duration, from time.Time) ([]byte, []byte) {
		t.Helper()
		c, k, err := ca.issueServer(names, "", validity, from)
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	good := func() ([]byte, []byte) { return issue(ca, adviceNames, DefaultServerValidity, now.Add(-time.Hour)) }
	tests := []struct {
		name       string
		cert       func() ([]byte, []byte)
		serverName string
		want       []string // in Problem and Fix; {{addr}} is the server's host:port
	}{
		{"untrusted CA", func() ([]byte, []byte) { return issue(other, adviceNames, DefaultServerValidity, now.Add(-time.Hour)) }, "localhost",
			[]string{"{{addr}}'s certificate is signed by a CA this machine does not trust", `issuer "CN=Someone else's CA`,
				"`wharf doctor --ca CA.crt`", "/etc/docker/certs.d/{{addr}}/ca.crt", "SSL_CERT_FILE"}},
		{"wrong name", good, "wharf.internal",
			[]string{"certificate is for registry.example.com, localhost, 127.0.0.1, not wharf.internal",
				"tls_names (WHARF_TLS_NAMES, --tls-name)", "`wharf certs init --name wharf.internal`"}},
		{"expired", func() ([]byte, []byte) { return issue(ca, adviceNames, 24*time.Hour, now.Add(-72*time.Hour)) }, "localhost",
			[]string{"expired on " + now.Add(-48*time.Hour).UTC().Format("2006-01-02"), "renew it", "`wharf certs show FILE`"}},
		{"not yet valid", func() ([]byte, []byte) { return issue(ca, adviceNames, 24*time.Hour, now.Add(48*time.Hour)) }, "localhost",
			[]string{"valid only from " + now.Add(48*time.Hour).UTC().Format("2006-01-02"), "NTP"}},
		{"CA may not sign the name", func() ([]byte, []byte) {
			// A certificate its CA was not allowed to make: issued around
			// the check that normally refuses it.
			c, k, err := narrow.issue("", "", DefaultServerValidity, now.Add(-time.Hour), func(t *x509.Certificate, _ crypto.PublicKey) {
				t.DNSNames = []string{"localhost"}
				t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			})
			if err != nil {
				t.Fatal(err)
			}
			return c, k
		}, "localhost",
			[]string{`the CA "Narrow CA" that signed localhost:`, `"localhost" is not permitted`, "add localhost to tls_names"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			certPEM, keyPEM := tc.cert()
			addr := serveTLS(t, certPEM, keyPEM)
			trust := ca
			if strings.HasPrefix(tc.name, "CA may not") {
				trust = narrow // the client trusts the CA; the CA may not sign
			}
			err := dial(t, addr, tc.serverName, trust)
			if err == nil {
				t.Fatal("the handshake succeeded")
			}
			// As a client of https://NAME:PORT/ would.
			_, port, _ := net.SplitHostPort(addr)
			addr = net.JoinHostPort(tc.serverName, port)
			a := AdviseTLS(err, addr, time.Now())
			if a == nil {
				t.Fatalf("no advice for %v", err)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "{{addr}}", addr)
				if !strings.Contains(a.Problem+": "+a.Fix, w) {
					t.Errorf("the advice lacks %q:\n%s", w, a)
				}
			}
			if !errors.Is(a, err) {
				t.Errorf("the advice does not wrap the handshake's error")
			}
		})
	}
	// A certificate the client trusts, and no TLS error at all, get none.
	certPEM, keyPEM := good()
	addr := serveTLS(t, certPEM, keyPEM)
	if err := dial(t, addr, "localhost", ca); err != nil {
		t.Fatalf("the good certificate: %v", err)
	}
	if a := AdviseTLS(errors.New("connection refused"), addr, now); a != nil {
		t.Errorf("advice for an error that is no certificate's: %v", a)
	}
}
