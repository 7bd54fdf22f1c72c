package dockerauth

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"wharf/internal/compat"
	"wharf/internal/config"
	"wharf/internal/yamlnode"
)

// backends are docker_auth's authentication and authorization sections
// other than users and acl; each is "not supported yet".
var backends = []string{
	"plugin_authn", "plugin_authz", "casbin_authz",
}

var (
	topKeys    = append(append(append([]string{"server", "token", "users", "acl", "ldap_auth", "google_auth", "github_auth", "oidc_auth", "gitlab_auth"}, extSections...), dbSections...), backends...)
	serverKeys = []string{"addr", "net", "path_prefix", "real_ip_header", "real_ip_pos", "certificate", "key",
		"hsts", "tls_min_version", "tls_curve_preferences", "tls_cipher_suites", "letsencrypt"}
	tokenKeys = []string{"issuer", "certificate", "key", "expiration", "disable_legacy_key_id"}
)

// hsts is the header docker_auth sends with server.hsts: true.
const hsts = "max-age=63072000; includeSubDomains"

// Load reads docker_auth's auth_config.yml at path and translates it for
// `wharf auth` (Role config.RoleAuth). Token.Service stays empty: like
// docker_auth, wharf auth issues tokens for whichever service the client
// names. log may be nil.
func Load(path string, log *slog.Logger) (config.Config, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if path == "" {
		return config.Config{}, errors.New("dockerauth: no config file given (docker_auth's auth_config.yml)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return config.Config{}, fmt.Errorf("dockerauth: %w", err)
	}
	return load(b, path, log)
}

// loader collects every error of one file.
type loader struct {
	errs []error
	log  *notes
	at   map[string]string // dotted key → the line its value came from
}

func (l *loader) errorf(n *yaml.Node, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: "+format, append([]any{line(n)}, args...)...))
}

func load(src []byte, path string, log *slog.Logger) (config.Config, error) {
	fail := func(errs ...error) (config.Config, error) {
		return config.Config{}, fmt.Errorf("dockerauth: %s: %w", path, errors.Join(errs...))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fail(err)
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	l := &loader{log: &notes{}, at: map[string]string{}}
	top := l.section(nil, root, "", topKeys...)
	c := config.Default()
	c.Role = config.RoleAuth
	c.Auth = "token"
	c.TLS = "off" // docker_auth serves plain HTTP unless server.certificate is set
	c.Token = config.Token{}
	l.server(top, &c)
	l.token(top, &c)
	l.ldap(top, &c)
	l.signIns(top, &c)
	l.usersAndACL(top, &c)
	l.ext(top, &c)
	l.dbBackends(top, &c)
	for _, b := range backends {
		if !yamlnode.IsNull(top.vals[b]) {
			l.errorf(top.keys[b], "%w: %s (wharf supports users, acl, ldap_auth, the google, github, oidc and gitlab sign-ins, mongo_auth, acl_mongo, xorm_auth, acl_xorm, ext_auth and ext_authz for now)", ErrNotSupported, b)
		}
	}
	if len(l.errs) > 0 {
		return fail(l.errs...)
	}
	for _, q := range quotedValues(c) {
		l.log.Warn(q.Message(), "source", l.at[q.Key])
	}
	l.log.Flush(log)
	return c, nil
}

func (l *loader) server(top *section, c *config.Config) {
	s := l.section(top.keys["server"], top.vals["server"], "server", serverKeys...)
	if c.Addr = s.str("addr"); c.Addr == "" {
		l.errorf(s.where("addr"), "server.addr: required (for example \":5001\")")
	}
	switch n := s.str("net"); n {
	case "", "tcp":
	case "unix":
		l.errorf(s.where("net"), "%w: server.net unix (listen on TCP)", ErrNotSupported)
	default:
		l.errorf(s.where("net"), "server.net: %q is not unix or tcp", n)
	}
	if p := s.str("path_prefix"); p != "" {
		l.errorf(s.where("path_prefix"), "%w: server.path_prefix (serve the token endpoint at /auth)", ErrNotSupported)
	}
	cert, key := s.str("certificate"), s.str("key")
	switch {
	case (cert == "") != (key == ""):
		l.errorf(s.where("certificate"), "server: certificate and key go together; give both or neither")
	case cert != "":
		c.TLS = "files"
		c.TLSFiles = config.TLSFiles{Certificate: cert, Key: key}
	}
	if s.set("letsencrypt") {
		le := l.section(s.keys["letsencrypt"], s.vals["letsencrypt"], "server.letsencrypt", "host", "email", "cache_dir")
		if cert == "" {
			l.errorf(s.where("letsencrypt"), "%w: server.letsencrypt (give server.certificate and key)", ErrNotSupported)
		} else {
			l.log.Info("server.letsencrypt ignored, as docker_auth does when a certificate is given",
				"email", le.str("email"), "source", line(s.where("letsencrypt")))
		}
	}
	if s.boolean("hsts") {
		c.Headers = map[string][]string{"Strict-Transport-Security": {hsts}}
	}
	l.tlsVersion(s)
	for _, k := range []string{"tls_curve_preferences", "tls_cipher_suites"} {
		if s.set(k) {
			l.errorf(s.where(k), "%w: server.%s (wharf uses Go's defaults)", ErrNotSupported, k)
		}
	}
	l.realIP(top, s)
}

// tlsVersion checks server.tls_min_version, a name (TLS12) or a number
// (0x0303) as docker_auth reads it. wharf's floor is TLS 1.2.
func (l *loader) tlsVersion(s *section) {
	v := s.str("tls_min_version")
	if v == "" {
		return
	}
	names := map[string]uint64{"SSL30": 0x0300, "TLS10": 0x0301, "TLS11": 0x0302, "TLS12": 0x0303, "TLS13": 0x0304}
	n, ok := names[v]
	if !ok {
		var err error
		if n, err = strconv.ParseUint(v, 0, 16); err != nil {
			l.errorf(s.where("tls_min_version"), "server.tls_min_version: %q is not a TLS version such as TLS12", v)
			return
		}
	}
	switch {
	case n > 0x0303:
		// TODO(config): no minimum TLS version in config.TLSFiles.
		l.errorf(s.where("tls_min_version"), "%w: server.tls_min_version %s", ErrNotSupported, v)
	case n < 0x0303:
		l.log.Info("server.tls_min_version: wharf accepts TLS 1.2 and later only", "tls_min_version", v,
			"source", line(s.where("tls_min_version")))
	}
}

// realIP decides about server.real_ip_header. wharf does not take client
// addresses from headers yet (trusted proxies come later). That only
// matters to the ACL's ip matches: behind a proxy they would all see the
// proxy's address, and a rule such as {ip: 127.0.0.0/8} would grant its
// actions to everyone. So the header is accepted when no rule matches on ip
// and refused when one does.
func (l *loader) realIP(top *section, s *section) {
	pos, _ := s.integer("real_ip_pos")
	h := s.str("real_ip_header")
	if h == "" {
		return
	}
	if rule := ipRule(top.value("acl")); rule != nil {
		l.errorf(s.where("real_ip_header"), "%w: server.real_ip_header together with the ACL's ip match at %s "+
			"(wharf would see the proxy's address, not the client's)", ErrNotSupported, line(rule))
		return
	}
	l.log.Info("server.real_ip_header accepted; no ACL rule matches on ip, and wharf logs the connection's address until trusted proxies land",
		"header", h, "pos", pos, "source", line(s.where("real_ip_header")))
}

// ipRule returns the first `ip` key of an ACL rule's match, if any.
func ipRule(acl *yaml.Node) *yaml.Node {
	if acl == nil || acl.Kind != yaml.SequenceNode {
		return nil
	}
	for _, rule := range acl.Content {
		_, match := member(yamlnode.Resolve(rule), "match")
		if k, v := member(yamlnode.Resolve(match), "ip"); k != nil && !yamlnode.IsNull(v) {
			return k
		}
	}
	return nil
}

func member(m *yaml.Node, name string) (key, val *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func (l *loader) token(top *section, c *config.Config) {
	s := l.section(top.keys["token"], top.vals["token"], "token", tokenKeys...)
	if c.Token.Issuer = s.str("issuer"); c.Token.Issuer == "" {
		l.errorf(s.where("issuer"), "token.issuer: required; it must match the registry's auth.token.issuer")
	}
	switch secs, ok := s.integer("expiration"); {
	case !ok && s.value("expiration") == nil:
		l.errorf(s.where("expiration"), "token.expiration: required: how long tokens live, in seconds (for example 900)")
	case ok && secs <= 0:
		l.errorf(s.where("expiration"), "token.expiration: must be positive, got %d", secs)
	case ok:
		c.Token.Expiration = config.Duration(time.Duration(secs) * time.Second)
	}
	cert, key := s.str("certificate"), s.str("key")
	switch {
	case (cert == "") != (key == ""):
		l.errorf(s.where("certificate"), "token: certificate and key go together; give both or neither")
	case cert != "":
		c.Token.Certificate, c.Token.Key = cert, key
	case c.TLSFiles.Certificate != "":
		// docker_auth signs tokens with the server's certificate when the
		// token section names none.
		c.Token.Certificate, c.Token.Key = c.TLSFiles.Certificate, c.TLSFiles.Key
	default:
		l.errorf(s.where("certificate"), "token: no signing key: give token.certificate and token.key, or server.certificate and server.key")
	}
	if s.value("disable_legacy_key_id") != nil {
		s.boolean("disable_legacy_key_id")
		l.log.Info("token.disable_legacy_key_id accepted; wharf's kid is always the RFC 7638 thumbprint, with the x5c chain",
			"source", line(s.where("disable_legacy_key_id")))
	}
}

func (l *loader) usersAndACL(top *section, c *config.Config) {
	switch u := top.value("users"); {
	case u == nil && (c.LDAP != nil || hasExt(top, "ext_auth") || present(top, "mongo_auth") || present(top, "xorm_auth") ||
		c.OIDCAuth != nil || c.GitHubAuth != nil || c.GitLabAuth != nil || c.GoogleAuth != nil):
		// As docker_auth: another authentication method makes users optional.
	case u == nil:
		l.errorf(top.where("users"), "users: required unless ldap_auth, a sign-in (oidc_auth, github_auth, …), mongo_auth, xorm_auth or ext_auth is set: wharf authenticates against this map (users: {} denies everyone)")
	case u.Kind != yaml.MappingNode:
		l.errorf(u, "users: must be a mapping of user name to {password, labels}, not %s", yamlnode.Describe(u))
	default:
		l.decode(u, &c.Users, "users")
	}
	switch a := top.value("acl"); {
	case a == nil && (hasExt(top, "ext_authz") || present(top, "acl_mongo") || present(top, "acl_xorm")):
		// As docker_auth: another authorization method makes acl optional.
	case a == nil:
		l.errorf(top.where("acl"), "acl: required unless acl_mongo, acl_xorm or ext_authz is set (acl: [] denies everything)")
	case a.Kind != yaml.SequenceNode:
		l.errorf(a, "acl: must be a list of rules, not %s", yamlnode.Describe(a))
	default:
		l.decode(a, &c.ACL, "acl")
	}
}

// decode parses users: or acl: with the parser wharf.yml uses (strict,
// every problem with its line), so that a bad entry is reported when the
// file is read, with the file's other problems.
func (l *loader) decode(n *yaml.Node, to any, key string) {
	err := n.Decode(to)
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		if err != nil {
			l.errorf(n, "%s: %v", key, err)
		}
		return
	}
	for _, msg := range te.Errors {
		where, what, ok := strings.Cut(msg, ": ")
		if !ok || !strings.HasPrefix(where, "line ") {
			where, what = line(n), msg
		}
		if !strings.HasPrefix(what, key+":") {
			what = key + ": " + what
		}
		l.errs = append(l.errs, fmt.Errorf("%s: %s", where, what))
	}
}

func quotedValues(c config.Config) []compat.Setting {
	values := []compat.Setting{
		{Key: "server.addr", Value: c.Addr},
		{Key: "server.certificate", Value: c.TLSFiles.Certificate},
		{Key: "server.key", Value: c.TLSFiles.Key},
		{Key: "token.issuer", Value: c.Token.Issuer},
	}
	if c.Token.Certificate != c.TLSFiles.Certificate || c.Token.Key != c.TLSFiles.Key {
		values = append(values, compat.Setting{Key: "token.certificate", Value: c.Token.Certificate}, compat.Setting{Key: "token.key", Value: c.Token.Key})
	}
	return compat.Quoted(values)
}

// Warnings returns a message for every value of c, read from docker_auth's
// configuration, that begins and ends with a quote character — e.g.
// issuer: '"Auth Service"' — naming its docker_auth key. An issuer with
// literal quotes never matches the registry's, and every login fails with a
// bare 401. Load logs these at warn; Warnings is for later checks (wharf
// doctor).
func Warnings(c config.Config) []string {
	return compat.Messages(quotedValues(c))
}
