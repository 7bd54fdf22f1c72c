package server

import (
	"log/slog"
	"net"
	"net/url"

	"wharf/internal/config"
	"wharf/internal/datadir"
	"wharf/internal/servertls"
)

// logStart writes the start lines: where clients reach the server (url,
// what goes in image names and docker login, then the listener's address)
// and, with tls: auto, which CA they must trust and how, on every start:
// the first start's lines are long gone from the log when a new client
// needs them.
func (s *Server) logStart(listening net.Addr) {
	attrs := []any{"url", startURL(s.cfg, listening), "addr", listening.String(),
		"data", s.cfg.Data, "auth", s.cfg.Auth, "tls", s.cfg.TLS}
	if !s.cfg.Log.AccessOn() {
		attrs = append(attrs, "access_log", "off")
	}
	if s.cfg.TLS != "auto" {
		s.log.Info("wharf is serving", attrs...)
		return
	}
	ca := datadir.New(s.cfg.Data).TLSCACert()
	s.log.Info("wharf is serving", append(attrs, "ca", ca)...)
	_, port, _ := net.SplitHostPort(listening.String())
	s.log.Info(servertls.TrustHint(ca, port), slog.String("ca", ca))
}

// startURL is the base URL clients use to reach listening: https unless
// tls is off, and the host they are told to use — the first ACME domain
// or tls_names entry when one is configured (the public name), else the
// listener's own address, with 127.0.0.1 for a wildcard listener (what
// answers on this machine). Behind a proxy, wharf serve's token.realm
// (when the token endpoint shares the registry's port) is the public URL.
func startURL(cfg config.Config, listening net.Addr) string {
	if cfg.Role == config.RoleAllInOne && cfg.TokenAddr == "" && cfg.Token.Realm != "" {
		if u, err := url.Parse(cfg.Token.Realm); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	scheme := "https"
	if cfg.TLS == "off" {
		scheme = "http"
	}
	host, port, err := net.SplitHostPort(listening.String())
	if err != nil {
		return scheme + "://" + listening.String()
	}
	switch {
	case cfg.TLS == "acme" && len(cfg.ACME.Domains) > 0:
		host = cfg.ACME.Domains[0]
	case cfg.TLS == "auto" && len(cfg.TLSNames) > 0:
		host = cfg.TLSNames[0]
	default:
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1"
		}
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		return scheme + "://" + hostForURL(host)
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// hostForURL brackets an IPv6 address, as a URL without a port needs.
func hostForURL(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "[" + host + "]"
	}
	return host
}
