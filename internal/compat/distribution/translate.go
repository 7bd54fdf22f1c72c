package distribution

import (
	"fmt"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"wharf/internal/config"
	"wharf/internal/yamlnode"
)

// Defaults of distribution that differ from wharf serve's.
const (
	defaultRootDirectory = "/var/lib/registry" // the filesystem driver's
	defaultUploadMaxAge  = 168 * time.Hour     // storage.maintenance.uploadpurging.age
	autoRedirectPath     = "/auth/token"       // the only realm path wharf derives
)

// translation turns a checked tree into a config.Config, collecting every
// error. The checker has already verified the shape of every value.
type translation struct {
	t    *tree
	log  *notes
	errs []error
}

func (t *tree) translate(log *notes) (config.Config, []error) {
	c := config.Default()
	c.Role = config.RoleRegistry
	c.Auth = "none"
	c.TLS = "off" // distribution serves plain HTTP unless http.tls is set
	c.Data = defaultRootDirectory
	// A registry verifies tokens and never issues them; the expiration is
	// kept only because Validate asks for a positive one with auth: token.
	c.Token = config.Token{Expiration: c.Token.Expiration}
	c.Storage.Delete = false
	c.GC.UploadsGrace = config.Duration(defaultUploadMaxAge)
	tr := &translation{t: t, log: log}
	tr.logging(&c)
	tr.storage(&c)
	tr.http(&c)
	tr.auth(&c)
	tr.notifications(&c)
	tr.proxy(&c)
	return c, tr.errs
}

// errorf reports a problem at the key path names (or its nearest present
// parent), prefixed with where it came from.
func (tr *translation) errorf(path []string, format string, args ...any) {
	where := "config"
	for i := len(path); i > 0; i-- {
		parent := tr.t.root
		if i > 1 {
			parent = tr.t.lookup(path[:i-1]...)
		}
		if k, _ := member(parent, path[i-1]); k != nil {
			where = tr.t.where(k)
			break
		}
	}
	tr.errs = append(tr.errs, fmt.Errorf("%s: "+format, append([]any{where}, args...)...))
}

func (tr *translation) source(path ...string) string {
	parent := tr.t.lookup(path[:len(path)-1]...)
	if k, _ := member(parent, path[len(path)-1]); k != nil {
		return tr.t.where(k)
	}
	return "default"
}

// strs is the list of strings at path.
func (tr *translation) strs(path ...string) []string {
	n := tr.t.lookup(path...)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, e := range n.Content {
		if e = yamlnode.Resolve(e); e != nil && e.Kind == yaml.ScalarNode && !yamlnode.IsNull(e) {
			out = append(out, e.Value)
		}
	}
	return out
}

func (tr *translation) logging(c *config.Config) {
	path := []string{"log", "level"}
	level := tr.t.str(path...)
	if level == "" {
		if level = tr.t.str("loglevel"); level != "" {
			path = []string{"loglevel"}
			tr.log.Info("loglevel is distribution's deprecated spelling of log.level", "source", tr.source(path...))
		}
	}
	switch l := strings.ToLower(level); l {
	case "":
		c.Log.Level = "info" // distribution's default
	case "error", "warn", "info", "debug":
		c.Log.Level = l
	default:
		tr.errorf(path, "%s: %q is not one of error, warn, info, debug", strings.Join(path, "."), level)
	}
	switch f := tr.t.str("log", "formatter"); f {
	case "", "text":
		c.Log.Format = "text"
	case "json":
		c.Log.Format = "json"
	case "logstash":
		c.Log.Format = "json"
		tr.log.Warn("log.formatter logstash: wharf writes plain JSON lines (logstash's field names differ)",
			"source", tr.source("log", "formatter"))
	default:
		tr.errorf([]string{"log", "formatter"}, "log.formatter: %q is not one of text, json, logstash", f)
	}
	if off, _ := tr.t.boolean("log", "accesslog", "disabled"); off {
		c.Log.Access = "off"
	}
}

func (tr *translation) storage(c *config.Config) {
	fs, s3 := tr.t.has("storage", "filesystem"), tr.t.has("storage", "s3")
	switch {
	case fs && s3:
		tr.errorf([]string{"storage", "s3"}, "storage: filesystem and s3 are both configured; distribution requires exactly one "+
			"(from the environment, REGISTRY_STORAGE=s3 replaces the built-in filesystem)")
	case s3:
		c.Storage.S3 = tr.s3()
	case !fs:
		tr.errorf([]string{"storage"}, "storage: no storage driver configured; distribution requires one, and wharf "+
			"supports storage.filesystem (e.g. REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry) and storage.s3")
	default:
		if dir := tr.t.str("storage", "filesystem", "rootdirectory"); dir != "" {
			c.Data = dir
		}
	}
	c.Storage.Delete, _ = tr.t.boolean("storage", "delete", "enabled")
	c.Storage.Redirect.Disable, _ = tr.t.boolean("storage", "redirect", "disable")

	purge := []string{"storage", "maintenance", "uploadpurging"}
	if age := tr.t.str(append(purge, "age")...); age != "" {
		if d, err := time.ParseDuration(age); err != nil || d <= 0 {
			tr.errorf(append(purge, "age"), "storage.maintenance.uploadpurging.age: %q is not a positive duration such as 168h", age)
		} else {
			c.GC.UploadsGrace = config.Duration(d)
		}
	}
	if on, set := tr.t.boolean(append(purge, "enabled")...); set && !on {
		tr.log.Warn("storage.maintenance.uploadpurging.enabled is false, but wharf always removes upload sessions idle longer than this age",
			"age", c.GC.UploadsGrace.Std(), "source", tr.source(append(purge, "enabled")...))
	}
	if dry, _ := tr.t.boolean(append(purge, "dryrun")...); dry {
		tr.log.Warn("storage.maintenance.uploadpurging.dryrun: wharf really removes idle upload sessions",
			"age", c.GC.UploadsGrace.Std(), "source", tr.source(append(purge, "dryrun")...))
	}
	if iv := tr.t.str(append(purge, "interval")...); iv != "" {
		if _, err := time.ParseDuration(iv); err != nil {
			tr.errorf(append(purge, "interval"), "storage.maintenance.uploadpurging.interval: %q is not a duration such as 24h", iv)
		} else {
			tr.log.Info("storage.maintenance.uploadpurging.interval accepted; wharf sweeps on its own schedule",
				"source", tr.source(append(purge, "interval")...))
		}
	}
	// distribution's read-only mode is wharf's read_only: pushes and
	// deletes answered 503 UNAVAILABLE, pulls served.
	c.ReadOnly, _ = tr.t.boolean("storage", "maintenance", "readonly", "enabled")
}

// s3 translates storage.s3, whose keys are wharf's own storage.s3 keys;
// config.Validate checks the values.
func (tr *translation) s3() *config.S3 {
	at := func(key string) []string { return []string{"storage", "s3", key} }
	s := &config.S3{
		Bucket:         tr.t.str(at("bucket")...),
		Region:         tr.t.str(at("region")...),
		RegionEndpoint: tr.t.str(at("regionendpoint")...),
		AccessKey:      tr.t.str(at("accesskey")...),
		KeyID:          tr.t.str(at("keyid")...),
		StorageClass:   tr.t.str(at("storageclass")...),
		RootDirectory:  tr.t.str(at("rootdirectory")...),
		// The public address presigned URLs point to.
		RedirectEndpoint: tr.t.str(at("redirectendpoint")...),
	}
	s.SetSecrets(tr.t.str(at("secretkey")...), tr.t.str(at("sessiontoken")...))
	s.ForcePathStyle, _ = tr.t.boolean(at("forcepathstyle")...)
	s.Encrypt, _ = tr.t.boolean(at("encrypt")...)
	s.SkipVerify, _ = tr.t.boolean(at("skipverify")...)
	if secure, set := tr.t.boolean(at("secure")...); set {
		s.Secure = &secure
	}
	if n := tr.t.str(at("chunksize")...); n != "" {
		s.ChunkSize, _ = strconv.ParseInt(n, 10, 64) // the schema checked it is a whole number
	}
	// distribution's STANDARD is S3's default class; NONE means "send
	// none", which is what an empty class does.
	if s.StorageClass == "NONE" {
		s.StorageClass = ""
	}
	return s
}

func (tr *translation) http(c *config.Config) {
	if a := tr.t.str("http", "addr"); a != "" {
		c.Addr = a
	}
	switch n := tr.t.str("http", "net"); n {
	case "", "tcp":
	case "unix":
		tr.errorf([]string{"http", "net"}, "%w: http.net unix (listen on TCP)", ErrNotSupported)
	default:
		tr.errorf([]string{"http", "net"}, "http.net: %q is not tcp or unix", n)
	}
	if p := tr.t.str("http", "prefix"); p != "" && p != "/" {
		tr.errorf([]string{"http", "prefix"}, "%w: http.prefix (serve the registry at the root of its host)", ErrNotSupported)
	}
	if h := tr.t.str("http", "host"); h != "" {
		if u, err := url.Parse(h); err != nil || u.Scheme == "" || u.Host == "" {
			tr.errorf([]string{"http", "host"}, "http.host: %q is not an absolute URL such as https://registry.example.com", h)
		}
	}
	// The debug server: profiles, as distribution's (without its
	// expvar and Prometheus pages).
	c.DebugAddr = tr.t.str("http", "debug", "addr")
	tr.tls(c)
	if h := tr.t.lookup("http", "headers"); h != nil && h.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(h.Content); i += 2 {
			name := textproto.CanonicalMIMEHeaderKey(h.Content[i].Value)
			if c.Headers == nil {
				c.Headers = make(map[string][]string)
			}
			c.Headers[name] = append(c.Headers[name], tr.strs("http", "headers", h.Content[i].Value)...)
		}
	}
}

func (tr *translation) tls(c *config.Config) {
	p := func(k string) []string { return []string{"http", "tls", k} }
	cert, key := tr.t.str(p("certificate")...), tr.t.str(p("key")...)
	switch {
	case cert != "" && key == "":
		tr.errorf(p("certificate"), "http.tls.key: required with http.tls.certificate")
	case cert == "" && key != "":
		tr.errorf(p("key"), "http.tls.certificate: required with http.tls.key (distribution would serve plain HTTP)")
	case cert != "":
		c.TLS = "files"
		c.TLSFiles.Certificate, c.TLSFiles.Key = cert, key
	}
	if cas := tr.strs(p("clientcas")...); len(cas) > 0 {
		if cert == "" {
			tr.errorf(p("clientcas"), "http.tls.clientcas: needs http.tls.certificate and key (distribution ignores client CAs without TLS)")
		}
		c.TLSFiles.ClientCAs = cas
	}
	// TODO(config): TLSFiles has no client-auth mode; wharf requires and
	// verifies client certificates when ClientCAs is set, as distribution's
	// default does.
	switch m := tr.t.str(p("clientauth")...); m {
	case "", "require-and-verify-client-cert":
	case "request-client-cert", "require-any-client-cert", "verify-client-cert-if-given":
		tr.errorf(p("clientauth"), "%w: http.tls.clientauth %s (wharf requires and verifies client certificates)", ErrNotSupported, m)
	default:
		tr.errorf(p("clientauth"), "http.tls.clientauth: %q is not a client auth mode", m)
	}
	// TODO(config): no minimum TLS version; wharf uses Go's TLS 1.2 floor.
	switch v := tr.t.str(p("minimumtls")...); v {
	case "", "tls1.2":
	case "tls1.0", "tls1.1":
		tr.log.Info("http.tls.minimumtls: wharf accepts TLS 1.2 and later only", "minimumtls", v, "source", tr.source(p("minimumtls")...))
	case "tls1.3":
		tr.errorf(p("minimumtls"), "%w: http.tls.minimumtls tls1.3", ErrNotSupported)
	default:
		tr.errorf(p("minimumtls"), "http.tls.minimumtls: %q is not one of tls1.2, tls1.3", v)
	}
}

func (tr *translation) auth(c *config.Config) {
	a := tr.t.lookup("auth")
	if a == nil || a.Kind != yaml.MappingNode || len(a.Content) == 0 {
		return // no auth section: anyone may push and pull, as in distribution
	}
	var providers []string
	for i := 0; i < len(a.Content); i += 2 {
		providers = append(providers, a.Content[i].Value)
	}
	if len(providers) > 1 {
		tr.errorf([]string{"auth"}, "auth: %s: distribution takes exactly one provider", strings.Join(providers, ", "))
		return
	}
	required := func(provider, key string) string {
		v := tr.t.str("auth", provider, key)
		if v == "" {
			tr.errorf([]string{"auth", provider, key}, "auth.%s.%s: required (REGISTRY_AUTH_%s_%s)",
				provider, key, strings.ToUpper(provider), strings.ToUpper(key))
		}
		return v
	}
	switch providers[0] {
	case "token":
		c.Auth = "token"
		c.Token.Realm = required("token", "realm")
		c.Token.Service = required("token", "service")
		c.Token.Issuer = required("token", "issuer")
		c.Token.RootCertBundle = tr.t.str("auth", "token", "rootcertbundle")
		c.Token.JWKS = tr.t.str("auth", "token", "jwks")
		if c.Token.RootCertBundle == "" && c.Token.JWKS == "" {
			tr.errorf([]string{"auth", "token"}, "auth.token: rootcertbundle or jwks is required: the certificates or keys tokens are signed with")
		}
		tr.autoRedirect(c)
		tr.signingAlgorithms()
	case "htpasswd":
		c.Auth = "htpasswd"
		c.Htpasswd = config.Htpasswd{Realm: required("htpasswd", "realm"), Path: required("htpasswd", "path")}
	case "silly":
		c.Auth = "silly"
		c.Silly = config.Silly{Realm: required("silly", "realm"), Service: required("silly", "service")}
	}
}

// autoRedirect maps auth.token.autoredirect onto an empty realm. distribution
// still requires a realm and then ignores it: v2.8 sends
// https://<Host>/auth/token, v3 takes the scheme from X-Forwarded-Proto
// (default https) and the path from autoredirectpath. wharf's empty realm
// means the request's own scheme and host + /auth/token.
func (tr *translation) autoRedirect(c *config.Config) {
	if on, _ := tr.t.boolean("auth", "token", "autoredirect"); !on {
		return
	}
	if p := tr.t.str("auth", "token", "autoredirectpath"); p != "" && p != autoRedirectPath {
		// TODO(config): Token has no realm path; wharf derives /auth/token only.
		tr.errorf([]string{"auth", "token", "autoredirectpath"}, "%w: auth.token.autoredirectpath other than %s", ErrNotSupported, autoRedirectPath)
		return
	}
	c.Token.Realm = ""
	tr.log.Info("auth.token.autoredirect: the realm in challenges is each request's scheme and host + "+autoRedirectPath,
		"source", tr.source("auth", "token", "autoredirect"))
}

func (tr *translation) signingAlgorithms() {
	path := []string{"auth", "token", "signingalgorithms"}
	algs := tr.strs(path...)
	for _, alg := range algs {
		switch alg {
		case "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA":
		case "PS256", "PS384", "PS512":
			tr.errorf(path, "%w: auth.token.signingalgorithms %s (use RS*, ES* or EdDSA)", ErrNotSupported, alg)
		case "HS256", "HS384", "HS512":
			tr.errorf(path, "auth.token.signingalgorithms: %s is a shared-secret algorithm; wharf verifies public-key signatures only", alg)
		default:
			tr.errorf(path, "auth.token.signingalgorithms: %q is not a signing algorithm (RS256, ES256, EdDSA, …)", alg)
		}
	}
	if len(algs) > 0 {
		// TODO(config): Token has no SigningAlgorithms; the verifier allows the
		// RS, ES and EdDSA families, each only for its own key type.
		tr.log.Info("auth.token.signingalgorithms accepted; wharf allows RS*, ES* and EdDSA, each only with a matching key",
			"algorithms", algs, "source", tr.source(path...))
	}
}
