package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"wharf/internal/auth"
	"wharf/internal/auth/authn/static"
)

// Roles a process can play; `wharf serve`, `wharf registry`, `wharf auth`.
const (
	RoleAllInOne = "serve"    // registry and token server in one process
	RoleRegistry = "registry" // registry only, verifying tokens of any issuer
	RoleAuth     = "auth"     // token server only
)

// Config is the whole of wharf.yml.
type Config struct {
	// Role is set by the command, never by the file.
	Role string `yaml:"-"`
	// Sources names, for each setting a flag or a WHARF_* variable can
	// give (keys as in the file: "addr", "log.level", "database.dsn"),
	// where its value came from: "default", the file and line
	// ("wharf.yml:3"), the variable ("WHARF_ADDR") or the flag ("--addr").
	// resolve fills it in; it is nil in a Config built otherwise.
	Sources map[string]string `yaml:"-"`
	// AdminPassword is WHARF_ADMIN_PASSWORD, the first password of `wharf
	// serve`'s built-in admin (admin.go). Only the environment gives it.
	AdminPassword auth.Secret `yaml:"-" json:"-"`
	// Addr is the listen address, host:port. Port 0 picks a free port.
	Addr string `yaml:"addr"`
	// TokenAddr, when set, serves the token endpoint on its own listener
	// as well (the classic layout puts it on :5001); challenges then send
	// clients to that port.
	TokenAddr string `yaml:"token_addr"`
	// Data is the directory holding blobs, the metadata database and, later,
	// generated certificates.
	Data string `yaml:"data"`
	// Auth is the authentication mode: "token" (the Docker token protocol,
	// with the built-in token server in `wharf serve`), "htpasswd" (HTTP
	// Basic against an htpasswd file) or "none".
	Auth string `yaml:"auth"`
	// Token configures issuing (serve, auth) and verifying (serve, registry)
	// tokens.
	Token Token `yaml:"token"`
	// Htpasswd configures --auth htpasswd.
	Htpasswd Htpasswd `yaml:"htpasswd"`
	// Users are static accounts in docker_auth's shape (name → password
	// hash and labels), parsed and checked when the file is read.
	Users static.Users `yaml:"users"`
	// ACL is the access control list in docker_auth's shape, parsed when
	// the file is read and compiled by Validate.
	ACL ACL `yaml:"acl"`
	// TLS is the transport security mode: "auto" (a local CA and server
	// certificate generated in <data>/tls), "files" (TLSFiles) or "off".
	TLS string `yaml:"tls"`
	// TLSFiles are the server certificate and key for tls: files.
	TLSFiles TLSFiles `yaml:"tls_files"`
	// ACME configures tls: acme (certificates from Let's Encrypt or any
	// ACME server).
	ACME ACME `yaml:"acme"`
	// TLSNames are extra DNS names and IP addresses the generated server
	// certificate of tls: auto covers, besides localhost, 127.0.0.1, ::1
	// and the host name.
	TLSNames []string `yaml:"tls_names"`
	// HSTS, when positive, sends Strict-Transport-Security with this
	// max-age over HTTPS.
	HSTS Duration `yaml:"hsts"`
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For, -Proto and -Host headers are believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Headers are added to every registry response, as distribution's
	// http.headers.
	Headers map[string][]string `yaml:"headers"`
	// Storage tunes the blob store.
	Storage Storage `yaml:"storage"`
	// Silly configures auth: silly (distribution's test-only mode: any
	// Authorization header is accepted).
	Silly Silly `yaml:"silly"`
	// Log configures the server log.
	Log Log `yaml:"log"`
	// Uploads holds only the deprecated uploads.max_age (now
	// gc.uploads_grace).
	Uploads Uploads `yaml:"uploads"`
	// Limits bound the work one client can cause (see limits.go).
	Limits Limits `yaml:"limits"`
	// Sessions bounds docker login sessions (refresh tokens).
	Sessions Sessions `yaml:"sessions"`
	// GC schedules and tunes garbage collection (gc.go).
	GC GC `yaml:"gc"`
	// DebugAddr, when set, serves Go's runtime profiles (/debug/pprof/) on
	// this address, without authentication: keep it on loopback.
	DebugAddr string `yaml:"debug_addr"`
	// Metrics serves Prometheus metrics (see metrics.go).
	Metrics Metrics `yaml:"metrics"`
	// Tracing sends OpenTelemetry traces (see tracing.go).
	Tracing Tracing `yaml:"tracing"`
	// Database selects the SQL database (SQLite in the data directory by
	// default).
	Database Database `yaml:"database"`
	// ReadOnly refuses every push and delete (UNAVAILABLE, 503) while
	// pulls go on; the admin API can also turn it on at runtime.
	ReadOnly bool `yaml:"read_only"`
	// UI is the web interface under /ui/ (see ui.go).
	UI *bool `yaml:"ui"`
	// ImmutableTags lists the tags that are pushed once and never moved
	// or deleted.
	ImmutableTags []ImmutableTags `yaml:"immutable_tags"`
	// Retention removes old tags and untagged manifests.
	Retention Retention `yaml:"retention"`
	// LDAP, when set, authenticates users against a directory.
	LDAP *LDAP `yaml:"ldap_auth"`
	// OIDCAuth, GitHubAuth, GitLabAuth and GoogleAuth, when set, let users
	// sign in with a browser at that provider for a registry password.
	OIDCAuth   *OIDCAuth   `yaml:"oidc_auth"`
	GitHubAuth *GitHubAuth `yaml:"github_auth"`
	GitLabAuth *GitLabAuth `yaml:"gitlab_auth"`
	GoogleAuth *GoogleAuth `yaml:"google_auth"`
	// ExtAuth and ExtAuthz, when set, ask external programs.
	ExtAuth  *ExtAuth  `yaml:"ext_auth"`
	ExtAuthz *ExtAuthz `yaml:"ext_authz"`
	// WebhookAuth and WebhookAuthz, when set, ask HTTP endpoints.
	WebhookAuth  *Webhook `yaml:"webhook_auth"`
	WebhookAuthz *Webhook `yaml:"webhook_authz"`
	// MongoAuth and ACLMongo, when set, read users and ACL rules from
	// MongoDB collections in docker_auth's shapes.
	MongoAuth *MongoAuth `yaml:"mongo_auth"`
	ACLMongo  *ACLMongo  `yaml:"acl_mongo"`
	// XormAuth and ACLXorm, when set, read users and ACL rules from
	// docker_auth's SQL tables (SQLite, PostgreSQL, MySQL).
	XormAuth *XormAuth `yaml:"xorm_auth"`
	ACLXorm  *ACLXorm  `yaml:"acl_xorm"`

	// Audit configures the audit log.
	Audit Audit `yaml:"audit"`
	// Quotas bound the bytes of repositories matching a pattern (quotas.go).
	Quotas []Quota `yaml:"quotas"`
	// Notifications sends push, pull and delete events to webhooks, in
	// distribution's schema (notifications.go).
	Notifications Notifications `yaml:"notifications"`
	// Proxy serves repositories pulled through from other registries
	// (proxy.go).
	Proxy Proxy `yaml:"proxy"`
	// Replication copies repositories to and from other registries
	// (replication.go).
	Replication Replication `yaml:"replication"`
}

// Token configures the token protocol.
type Token struct {
	// Issuer is the `iss` of issued tokens and the issuer verified tokens
	// must name.
	Issuer string `yaml:"issuer"`
	// Service is the `aud` of tokens: the registry's name in the protocol.
	Service string `yaml:"service"`
	// Realm is the token endpoint's URL put in challenges. Empty in `wharf
	// serve` means the request's own scheme and host + "/auth/token".
	Realm string `yaml:"realm"`
	// Expiration is how long issued tokens live.
	Expiration Duration `yaml:"expiration"`
	// Certificate and Key are the signing certificate (chain, leaf first)
	// and private key files. Empty in `wharf serve` means a key generated on
	// first start in <data>/auth/.
	Certificate string `yaml:"certificate"`
	Key         string `yaml:"key"`
	// RootCertBundle lists certificates trusted to sign tokens (verifying
	// side), as distribution's auth.token.rootcertbundle.
	RootCertBundle string `yaml:"rootcertbundle"`
	// JWKS is a JSON Web Key Set file of keys trusted to sign tokens.
	JWKS string `yaml:"jwks"`
}

// ACME configures automatic certificates from an ACME server. Using it
// accepts that server's terms of service.
type ACME struct {
	// Directory is the ACME directory URL (default: Let's Encrypt).
	Directory string `yaml:"directory"`
	// Email is the account contact the CA may write to about expiry.
	Email string `yaml:"email"`
	// Domains are the names to get certificates for; requests for other
	// names are refused.
	Domains []string `yaml:"domains"`
	// CARoot is a PEM bundle to trust for the ACME server's own HTTPS (a
	// private ACME server); empty means the system roots.
	CARoot string `yaml:"ca_root"`
}

// DefaultACMEDirectory is Let's Encrypt's production directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// TLSFiles are certificate files for tls: files.
type TLSFiles struct {
	Certificate string   `yaml:"certificate"`
	Key         string   `yaml:"key"`
	ClientCAs   []string `yaml:"client_cas"`
}

// Silly configures distribution's "silly" auth: a challenge for requests
// without an Authorization header, any header accepted. For tests only.
type Silly struct {
	Realm   string `yaml:"realm"`
	Service string `yaml:"service"`
}

// Htpasswd configures HTTP Basic authentication against an htpasswd file.
type Htpasswd struct {
	Realm string `yaml:"realm"`
	Path  string `yaml:"path"`
}

// Sessions bounds how long a docker login (a refresh token, docker's
// identity token) lasts.
type Sessions struct {
	// Lifetime is how long a session lasts when its account is confirmed
	// with the backend it came from at every refresh (configured and
	// database users, htpasswd, LDAP, browser sign-ins, mongo_auth,
	// xorm_auth); default 90 days.
	Lifetime Duration `yaml:"lifetime"`
	// UnconfirmedLifetime is how long a session lasts when its backend
	// cannot be asked without a password (ext_auth, webhook_auth, LDAP
	// with initial_bind_as_user, CI logins with an ID token); default 24
	// hours, and never more than Lifetime.
	UnconfirmedLifetime Duration `yaml:"unconfirmed_lifetime"`
}

// Log configures the server log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
	// Access is whether each request gets an access log line: on (the
	// default) or off, for a proxy in front that writes its own; true and
	// false, YAML's spellings, are accepted too. Errors are logged either
	// way.
	Access string `yaml:"access"`
}

// AccessOn reports whether the access log is on (Validate has checked
// Access).
func (l Log) AccessOn() bool { return l.Access != "off" && l.Access != "false" }

// Uploads is the old home of gc.uploads_grace.
type Uploads struct {
	// MaxAge is the deprecated name of gc.uploads_grace: ReadFile moves
	// it there and notes the deprecation. Nothing else reads it.
	MaxAge Duration `yaml:"max_age"`
}

// Default returns the embedded defaults.
func Default() Config {
	return Config{
		Role:     RoleAllInOne,
		Addr:     ":5000",
		Data:     "./wharf-data",
		Auth:     "token",
		Token:    Token{Issuer: "wharf", Service: "wharf", Expiration: Duration(5 * time.Minute)},
		TLS:      "auto",
		Log:      Log{Level: "info", Format: "text", Access: "on"},
		Sessions: Sessions{Lifetime: Duration(90 * 24 * time.Hour), UnconfirmedLifetime: Duration(24 * time.Hour)},
		Storage:  Storage{Delete: true},
		Database: Database{Driver: DriverSQLite},
		GC:       defaultGC(),
	}
}

// Load reads a wharf.yml over the defaults. Unknown keys are errors naming
// their line, so that a typo never silently changes behaviour; every
// problem of the file is reported at once, one a line. Load does not
// validate: resolve layers the environment and flags on top first.
func Load(path string) (Config, error) {
	f, err := ReadFile(path)
	if err != nil {
		return Default(), err
	}
	if len(f.Problems) > 0 {
		return f.Config, fmt.Errorf("config: %w", errors.Join(f.Problems...))
	}
	return f.Config, nil
}

// File is a wharf.yml as read: what could be decoded over the defaults,
// the file's problems, and where its keys are.
type File struct {
	Path string
	// Config is the file over the defaults; values with a problem keep
	// their default.
	Config Config
	// Problems are every unknown key, value of the wrong type and bad user
	// or ACL entry, each naming the file and line.
	Problems []error
	// Deprecations are the old keys the file still uses, each with what
	// replaces it, for the command's log.
	Deprecations []Deprecation
	root         *yaml.Node
}

// ReadFile reads a wharf.yml as Load does, but returns the file's problems
// apart from a failure to read it, so that resolve can report them along
// with those of the environment and flags.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	f := &File{Path: path, Config: Default()}
	for _, p := range decode(b, &f.Config) {
		f.Problems = append(f.Problems, fmt.Errorf("%s: %w", path, p))
	}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) == nil && doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		f.root = doc.Content[0]
	}
	f.foldUploadsMaxAge()
	return f, nil
}

// Line returns the line of a dotted key ("log.level") in the file, or 0
// when the file does not set it.
func (f *File) Line(key string) int {
	n := f.root
	var line int
	for name := range strings.SplitSeq(key, ".") {
		if n == nil || n.Kind != yaml.MappingNode {
			return 0
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				line, next = n.Content[i].Line, n.Content[i+1]
			}
		}
		if next == nil || (next.Kind == yaml.ScalarNode && next.Tag == "!!null") {
			return 0 // a null value leaves the default
		}
		n = next
	}
	return line
}

// decode decodes a wharf.yml into c. yaml.v3 carries on past a value of
// the wrong type or an unknown key and reports them all; a syntax error
// stops it.
func decode(b []byte, c *Config) []error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(c)
	if err == nil || errors.Is(err, io.EOF) {
		return nil // an empty file means all defaults
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{err}
	}
	errs := make([]error, len(te.Errors))
	for i, msg := range te.Errors {
		errs[i] = errors.New(explainUnknownKey(msg))
	}
	return errs
}

// checkListenAddr checks the syntax of a listen address ("" is not set):
// the server would find it wrong only after creating its data directory.
func checkListenAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (for example \":5000\" or \"127.0.0.1:5000\"; IPv6 as \"[::1]:5000\")", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q: the port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// Validate reports every problem with c at once, each with its key.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("addr: must not be empty (for example \":5000\")"))
	}
	for _, l := range []struct{ key, addr string }{{"addr", c.Addr}, {"token_addr", c.TokenAddr}, {"debug_addr", c.DebugAddr}} {
		if err := checkListenAddr(l.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.key, err))
		}
	}
	if c.Data == "" {
		errs = append(errs, errors.New("data: must not be empty (for example \"./wharf-data\")"))
	}
	switch c.Auth {
	case "token":
		if c.Token.Issuer == "" {
			errs = append(errs, errors.New("token.issuer: must not be empty"))
		}
		// A token server alone (docker_auth's way) issues tokens for the
		// service each client names; a registry must know its own.
		if c.Token.Service == "" && c.Role != RoleAuth {
			errs = append(errs, errors.New("token.service: must not be empty"))
		}
		if c.Token.Expiration <= 0 {
			errs = append(errs, errors.New("token.expiration: must be positive (for example \"5m\" or 300)"))
		}
		if c.Sessions.Lifetime <= 0 || c.Sessions.UnconfirmedLifetime <= 0 {
			errs = append(errs, errors.New("sessions: lifetime and unconfirmed_lifetime must be positive (for example \"90d\" and \"24h\")"))
		} else if c.Sessions.UnconfirmedLifetime > c.Sessions.Lifetime {
			errs = append(errs, fmt.Errorf("sessions.unconfirmed_lifetime: %s is longer than sessions.lifetime (%s); sessions that cannot be confirmed must not outlive those that are",
				c.Sessions.UnconfirmedLifetime.Std(), c.Sessions.Lifetime.Std()))
		}
		if (c.Token.Certificate == "") != (c.Token.Key == "") {
			errs = append(errs, errors.New("token: certificate and key go together; give both or neither"))
		}
		if c.Role == RoleRegistry && c.Token.RootCertBundle == "" && c.Token.JWKS == "" {
			errs = append(errs, errors.New("token: rootcertbundle or jwks is required to verify tokens from another issuer"))
		}
	case "htpasswd":
		if c.Htpasswd.Path == "" {
			errs = append(errs, errors.New("htpasswd.path: required with auth: htpasswd (make one with `htpasswd -nB USER`)"))
		}
	case "silly":
		if c.Role != RoleRegistry {
			errs = append(errs, errors.New("auth: silly is only for `wharf registry` test setups"))
		}
	case "none":
	default:
		errs = append(errs, fmt.Errorf("auth: %q is not one of token, htpasswd, none", c.Auth))
	}
	switch c.TLS {
	case "acme":
		if len(c.ACME.Domains) == 0 {
			errs = append(errs, errors.New("acme.domains: tls: acme needs the public names to get certificates for"))
		}
	case "off", "auto":
	case "files":
		if c.TLSFiles.Certificate == "" || c.TLSFiles.Key == "" {
			errs = append(errs, errors.New("tls_files: certificate and key are required with tls: files"))
		}
	default:
		errs = append(errs, fmt.Errorf("tls: %q is not one of auto, files, acme, off", c.TLS))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not one of text, json", c.Log.Format))
	}
	switch c.Log.Access {
	case "on", "off", "true", "false":
	default:
		errs = append(errs, fmt.Errorf("log.access: %q is not one of on, off", c.Log.Access))
	}
	for i, p := range c.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("trusted_proxies[%d]: %w", i, err))
		}
	}
	errs = append(errs, c.Limits.validateLists()...)
	if c.LDAP != nil {
		if c.Auth != "token" || c.Role == RoleRegistry {
			errs = append(errs, errLDAPWithoutToken)
		}
		errs = append(errs, c.LDAP.validate("ldap_auth")...)
	}
	errs = append(errs, c.Limits.validate()...)
	errs = append(errs, c.Limits.validateUploads()...)
	errs = c.Database.validate(errs)
	errs = append(errs, c.validateExt()...)
	errs = append(errs, c.validateSignIns()...)
	errs = append(errs, c.validateDatabaseBackends()...)
	errs = append(errs, c.ACL.validate(c.Role)...)
	errs = append(errs, c.validateAdminPassword()...)
	errs = append(errs, c.validateMetrics()...)
	errs = append(errs, c.Tracing.validate()...)
	errs = append(errs, c.Audit.validate()...)
	errs = append(errs, c.validatePolicies()...)
	errs = append(errs, c.validateQuotas()...)
	errs = append(errs, c.Notifications.validate()...)
	errs = append(errs, c.Proxy.validate()...)
	errs = append(errs, c.Replication.validate()...)
	errs = append(errs, c.GC.validate()...)
	errs = append(errs, c.Storage.validate()...)
	return errors.Join(errs...)
}
