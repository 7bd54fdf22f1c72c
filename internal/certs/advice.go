package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// TLSAdvice is what is wrong with a server's certificate, seen from a
// client, and how to fix it. A failed handshake otherwise surfaces as
// "does not answer" next to advice to start the server or open the
// firewall, which sends the operator the wrong way.
type TLSAdvice struct {
	// Problem says what is wrong, naming the certificate's names, issuer
	// or dates as the case needs.
	Problem string
	// Fix says what to do about it.
	Fix string
	// Err is the verification error.
	Err error
}

func (a *TLSAdvice) Error() string { return a.Problem + ": " + a.Fix }

func (a *TLSAdvice) Unwrap() error { return a.Err }

// AdviseTLS maps a certificate verification error met while connecting
// to hostport (the URL's host:port) to its fix, or returns nil when err is
// no such error. Every place that probes a server over HTTPS (wharf
// doctor, wharf health, the registry's check of its token realm) reports
// through it, so that they all give the same advice.
func AdviseTLS(err error, hostport string, now time.Time) *TLSAdvice {
	host, _, splitErr := net.SplitHostPort(hostport)
	if splitErr != nil {
		host = hostport
	}
	if ua, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		issuer := "an unknown issuer"
		if ua.Cert != nil {
			issuer = fmt.Sprintf("%q", ua.Cert.Issuer.String())
		}
		return &TLSAdvice{
			Problem: fmt.Sprintf("%s's certificate is signed by a CA this machine does not trust (issuer %s)", hostport, issuer),
			Fix: fmt.Sprintf("trust that CA: check with `wharf doctor --ca CA.crt`; for docker, copy it to /etc/docker/certs.d/%s/ca.crt; "+
				"for wharf and other programs, SSL_CERT_FILE=CA.crt (a wharf with tls: auto keeps its CA in <data>/tls/ca.crt)", hostport),
			Err: err,
		}
	}
	if he, ok := errors.AsType[x509.HostnameError](err); ok {
		host := he.Host
		return &TLSAdvice{
			Problem: fmt.Sprintf("%s's certificate is for %s, not %s", hostport, certNames(he.Certificate), host),
			Fix: fmt.Sprintf("use a name the certificate has, or put %s in it: with tls: auto add it to tls_names (WHARF_TLS_NAMES, --tls-name) and restart; "+
				"with certificate files, reissue them (`wharf certs init --name %s`)", host, host),
			Err: err,
		}
	}
	if ie, ok := errors.AsType[x509.CertificateInvalidError](err); ok && ie.Cert != nil {
		return invalid(err, ie, hostport, host, now)
	}
	return nil
}

// invalid advises on a certificate that is out of its dates or that its
// CA may not sign.
func invalid(err error, ie x509.CertificateInvalidError, hostport, host string, now time.Time) *TLSAdvice {
	c := ie.Cert
	switch ie.Reason {
	case x509.Expired:
		if now.Before(c.NotBefore) {
			return &TLSAdvice{
				Problem: fmt.Sprintf("%s's certificate is valid only from %s, and this machine's clock says %s",
					hostport, c.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)),
				Fix: "set the clocks right on this machine and the one that issued it (NTP: systemd-timesyncd, chrony)",
				Err: err,
			}
		}
		return &TLSAdvice{
			Problem: fmt.Sprintf("%s's certificate (%s) expired on %s", hostport, certNames(c), c.NotAfter.UTC().Format(time.RFC3339)),
			Fix: "renew it: with tls: auto, restart wharf, which renews it; with certificate files, reissue them " +
				"(`wharf certs init`, or your CA) and restart; `wharf certs show FILE` prints a file's dates",
			Err: err,
		}
	case x509.CANotAuthorizedForThisName:
		ca := c.Issuer.CommonName // Detail names the name it may not sign for
		if c.IsCA {
			ca = c.Subject.CommonName
		}
		return &TLSAdvice{
			Problem: fmt.Sprintf("the CA %q that signed %s's certificate may not sign it: %s", ca, hostport, ie.Detail),
			Fix: fmt.Sprintf("with tls: auto, add %s to tls_names (WHARF_TLS_NAMES, --tls-name) and restart: wharf then makes a CA that may, "+
				"which clients must trust anew; otherwise use a name the CA covers", host),
			Err: err,
		}
	}
	return nil
}

// certNames lists the names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "no name"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		if c.Subject.CommonName != "" {
			return fmt.Sprintf("no name clients accept (only the common name %q, which they ignore)", c.Subject.CommonName)
		}
		return "no name"
	}
	return strings.Join(names, ", ")
}
