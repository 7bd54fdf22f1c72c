package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefix parses an address ("10.0.0.3", "::1") or a CIDR
// ("10.0.0.0/8") into a prefix; a bare address is a prefix of one address.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR (for example 10.0.0.0/8 or 127.0.0.1)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR (for example 10.0.0.0/8 or 127.0.0.1)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseTrustedProxies parses trusted_proxies: addresses ("127.0.0.1",
// "::1") and CIDR ranges ("10.0.0.0/8"). Every entry that does not parse is
// reported.
func ParseTrustedProxies(entries []string) ([]netip.Prefix, error) {
	prefixes := make([]netip.Prefix, 0, len(entries))
	var errs []error
	for _, s := range entries {
		p, err := ParsePrefix(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted_proxies: %w", err))
			continue
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, errors.Join(errs...)
}
