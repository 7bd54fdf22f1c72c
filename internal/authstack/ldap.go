package authstack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"wharf/internal/auth"
	ldapauth "wharf/internal/auth/authn/ldap"
	"wharf/internal/config"
)

// ldapAuth is the LDAP backend of ldap_auth; its connection pool closes
// with the stack.
func ldapAuth(_ context.Context, b *builder) (Backend, io.Closer, error) {
	a, err := ldapAuthenticator(b.cfg.LDAP, b.log)
	if err != nil || a == nil {
		return Backend{}, nil, err
	}
	return Backend{Authn: a}, a, nil
}

// ldapAuthenticator builds the LDAP backend from ldap_auth, or returns nil
// when the section is absent. The service account's password and the CA
// file are read now, once; settings that have no effect are logged.
func ldapAuthenticator(section *config.LDAP, log *slog.Logger) (*ldapauth.Authenticator, error) {
	if section == nil {
		return nil, nil
	}
	l := section.WithDefaults()
	cfg := ldapauth.Config{
		Addr: l.Addr, TLS: l.TLS, InsecureSkipVerify: l.InsecureTLSSkipVerify,
		BindDN: l.BindDN, InitialBindAsUser: l.InitialBindAsUser,
		Base: l.Base, Filter: l.Filter,
		GroupBase: l.GroupBase, GroupFilter: l.GroupFilter, GroupAttribute: l.GroupAttribute,
		GroupLabel: l.GroupLabel, GroupLowerCase: l.GroupLowerCase,
		PoolSize: l.PoolSize, Timeout: l.Timeout.Std(), Log: log,
	}
	if len(l.Labels) > 0 {
		cfg.Labels = make(map[string]ldapauth.Label, len(l.Labels))
		for name, spec := range l.Labels {
			cfg.Labels[name] = ldapauth.Label{Attribute: spec.Attribute, ParseCN: spec.ParseCN, LowerCase: spec.LowerCase}
		}
	}
	log = log.With("component", "authn", "backend", "ldap")
	switch {
	case l.BindPasswordFile == "":
	case l.InitialBindAsUser || l.BindDN == "":
		log.Warn("ldap_auth.bind_password_file has no effect without a bind_dn service account (as in docker_auth)", "file", l.BindPasswordFile)
	default:
		b, err := os.ReadFile(l.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("ldap_auth.bind_password_file: %w", err)
		}
		// Trimmed as docker_auth does: the file usually ends with a newline.
		if cfg.BindPassword = auth.Secret(strings.TrimSpace(string(b))); cfg.BindPassword == "" {
			return nil, fmt.Errorf("ldap_auth.bind_password_file: %s is empty; an empty password would be an anonymous bind", l.BindPasswordFile)
		}
	}
	if l.CACertificate != "" {
		if l.TLS == ldapauth.TLSNone {
			log.Warn("ldap_auth.ca_certificate has no effect with tls: none", "file", l.CACertificate)
		}
		b, err := os.ReadFile(l.CACertificate)
		if err != nil {
			return nil, fmt.Errorf("ldap_auth.ca_certificate: %w", err)
		}
		cfg.CAPEM = b
	}
	switch {
	case l.TLS == ldapauth.TLSNone:
		log.Warn("ldap_auth.tls is none: user passwords cross the network in clear text; set tls: always or starttls", "addr", l.Addr)
	case l.InsecureTLSSkipVerify:
		log.Warn("ldap_auth.insecure_tls_skip_verify: the directory's certificate is not checked; anyone in the path can read passwords", "addr", l.Addr)
	}
	a, err := ldapauth.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("ldap_auth: %w", err)
	}
	log.Info("authenticating against LDAP", "addr", l.Addr, "tls", l.TLS, "base", l.Base, "filter", l.Filter,
		"bind_dn", l.BindDN, "initial_bind_as_user", l.InitialBindAsUser, "group_base", l.GroupBase, "pool_size", l.PoolSize)
	return a, nil
}
