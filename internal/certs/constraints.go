package certs

import (
	"crypto/x509"
	"net"
	"strings"
)

// Name constraints (RFC 5280 4.2.1.10) limit what a CA may sign for. Every
// CA wharf makes carries them, critical, so that its key — in the data
// directory and so in every backup of it — can mint certificates only for
// the names it was made for, not for any host its clients visit.
//
// Only DNS names and IP addresses are constrained: they are what TLS
// clients check a server's certificate against (Go and OpenSSL ignore
// other name types, and OpenSSL checks a host-name-like subject CN
// against the DNS constraints when a certificate has no DNS names).

// allIPv4 and allIPv6 exclude every address: a CA made for host names only
// must not sign for IP addresses, and an absent IP constraint would permit
// any.
var (
	allIPv4 = &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	allIPv6 = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
)

// constrain limits the CA template t to names: each DNS name permits
// itself and its subdomains (X.509 cannot permit a name alone; a wildcard
// *.example.com permits the subdomains of example.com), each IP address
// permits itself (a /32 or /128). A kind of name that names lacks is
// excluded altogether: "" excludes every DNS name, /0 every address.
func constrain(t *x509.Certificate, names []string) error {
	dns, ips, err := ParseNames(names)
	if err != nil {
		return err
	}
	t.PermittedDNSDomainsCritical = true // clients that cannot check them must refuse the CA
	for _, d := range dns {
		t.PermittedDNSDomains = append(t.PermittedDNSDomains, strings.TrimPrefix(d, "*"))
	}
	if len(dns) == 0 {
		t.ExcludedDNSDomains = []string{""}
	}
	for _, ip := range ips {
		bits := 8 * len(ip)
		t.PermittedIPRanges = append(t.PermittedIPRanges, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
	}
	if len(ips) == 0 {
		t.ExcludedIPRanges = []*net.IPNet{allIPv4, allIPv6}
	}
	return nil
}

// Constrained reports whether the CA carries DNS or IP name constraints.
// A CA made by wharf before they were added has none: its key can sign
// for any host.
func (a *Authority) Constrained() bool {
	c := a.Cert
	return len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges) > 0
}

// Forbidden returns the names (as ParseName normalizes them) that the
// CA's name constraints do not permit; nil when it may sign for all of
// them. Names that do not parse are left to ParseNames to report.
func (a *Authority) Forbidden(names []string) []string {
	c := a.Cert
	var out []string
	for _, n := range names {
		d, ip, err := ParseName(n)
		switch {
		case err != nil:
		case ip != nil:
			if !permits(ip, c.PermittedIPRanges, c.ExcludedIPRanges, ipInRange) {
				out = append(out, ip.String())
			}
		case !permits(d, c.PermittedDNSDomains, c.ExcludedDNSDomains, matchDNS):
			out = append(out, d)
		}
	}
	return out
}

// permits applies one kind of constraint as RFC 5280 does: a name that
// matches an excluded subtree is refused; otherwise it must match a
// permitted one, unless there are none.
func permits[N, C any](name N, permitted, excluded []C, match func(N, C) bool) bool {
	for _, ex := range excluded {
		if match(name, ex) {
			return false
		}
	}
	if len(permitted) == 0 {
		return true
	}
	for _, p := range permitted {
		if match(name, p) {
			return true
		}
	}
	return false
}

// matchDNS is the DNS name-constraint match Go's x509 and OpenSSL agree
// on: "" matches every name, "example.com" matches itself and its
// subdomains, ".example.com" its subdomains only.
func matchDNS(name, constraint string) bool {
	name, constraint = strings.ToLower(name), strings.ToLower(constraint)
	switch {
	case constraint == "":
		return true
	case strings.HasPrefix(constraint, "."):
		return len(name) > len(constraint) && strings.HasSuffix(name, constraint)
	default:
		return name == constraint || strings.HasSuffix(name, "."+constraint)
	}
}

// ipInRange matches like Go's x509: an IPv4 address only against IPv4
// ranges and IPv6 against IPv6, so ::/0 does not exclude 10.0.0.1.
func ipInRange(ip net.IP, r *net.IPNet) bool {
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	if len(ip) != len(r.IP) {
		return false
	}
	return r.Contains(ip)
}

// constraintSummary says what the CA may sign for, for logs and Describe.
func constraintSummary(c *x509.Certificate) []string {
	var out []string
	for _, d := range c.PermittedDNSDomains {
		out = append(out, "permitted DNS "+d)
	}
	for _, r := range c.PermittedIPRanges {
		out = append(out, "permitted IP "+r.String())
	}
	for _, d := range c.ExcludedDNSDomains {
		if d == "" {
			d = "(every name)"
		}
		out = append(out, "excluded DNS "+d)
	}
	for _, r := range c.ExcludedIPRanges {
		out = append(out, "excluded IP "+r.String())
	}
	return out
}
