package dockerauth

import (
	"time"

	"gopkg.in/yaml.v3"

	"wharf/internal/config"
	"wharf/internal/yamlnode"
)

// dbSections are docker_auth's database backends wharf translates.
var dbSections = []string{"mongo_auth", "acl_mongo", "xorm_auth", "acl_xorm"}

// dialInfoKeys are the keys docker_auth reads under dial_info (its
// DialInfo fields, lower-cased as its YAML decoder matches them, plus
// password_file and enable_tls), then wharf's ca_certificate.
var dialInfoKeys = []string{"addrs", "timeout", "database", "source", "username", "password", "password_file",
	"mechanism", "direct", "enable_tls", "failfast", "service", "ca_certificate"}

// dbBackends translates mongo_auth, acl_mongo, xorm_auth and acl_xorm.
// Values are checked by config.Validate.
func (l *loader) dbBackends(top *section, c *config.Config) {
	if present(top, "mongo_auth") {
		s := l.section(top.keys["mongo_auth"], top.vals["mongo_auth"], "mongo_auth", "dial_info", "collection")
		c.MongoAuth = &config.MongoAuth{DialInfo: l.dialInfo(s), Collection: s.str("collection")}
	}
	if present(top, "acl_mongo") {
		s := l.section(top.keys["acl_mongo"], top.vals["acl_mongo"], "acl_mongo", "dial_info", "collection", "cache_ttl")
		c.ACLMongo = &config.ACLMongo{DialInfo: l.dialInfo(s), Collection: s.str("collection"), CacheTTL: l.duration(s, "cache_ttl")}
	}
	if present(top, "xorm_auth") {
		s := l.section(top.keys["xorm_auth"], top.vals["xorm_auth"], "xorm_auth", "database_type", "conn_string", "conn_string_file")
		c.XormAuth = &config.XormAuth{DatabaseType: s.str("database_type"), ConnString: s.str("conn_string"), ConnStringFile: s.str("conn_string_file")}
	}
	if present(top, "acl_xorm") {
		s := l.section(top.keys["acl_xorm"], top.vals["acl_xorm"], "acl_xorm", "database_type", "conn_string", "conn_string_file", "cache_ttl")
		c.ACLXorm = &config.ACLXorm{DatabaseType: s.str("database_type"), ConnString: s.str("conn_string"),
			ConnStringFile: s.str("conn_string_file"), CacheTTL: l.duration(s, "cache_ttl")}
	}
}

func (l *loader) dialInfo(parent *section) config.MongoDial {
	if parent.value("dial_info") == nil {
		l.errorf(parent.where("dial_info"), "%s.dial_info: required: addrs, database and how to log in", parent.name)
		return config.MongoDial{}
	}
	s := l.section(parent.keys["dial_info"], parent.vals["dial_info"], parent.name+".dial_info", dialInfoKeys...)
	d := config.MongoDial{
		Addrs:         l.strings(s, "addrs"),
		Timeout:       l.duration(s, "timeout"),
		Database:      s.str("database"),
		Source:        s.str("source"),
		Username:      s.str("username"),
		Password:      s.str("password"),
		PasswordFile:  s.str("password_file"),
		Mechanism:     s.str("mechanism"),
		Direct:        s.boolean("direct"),
		EnableTLS:     s.boolean("enable_tls"),
		CACertificate: s.str("ca_certificate"),
	}
	if s.set("failfast") {
		s.boolean("failfast")
		l.log.Info(s.full("failfast")+" accepted; wharf fails a request when the server does not answer within dial_info.timeout",
			"source", line(s.where("failfast")))
	}
	if s.set("service") {
		l.errorf(s.where("service"), "%w: %s (Kerberos/GSSAPI); log in with username and password_file", ErrNotSupported, s.full("service"))
	}
	return d
}

// duration reads a Go duration ("10s", "1m"), as docker_auth's YAML decoder
// does. A bare number is refused: docker_auth would read it as nanoseconds.
func (l *loader) duration(s *section, key string) config.Duration {
	v := s.value(key)
	if v == nil {
		return 0
	}
	if v.Kind != yaml.ScalarNode {
		l.errorf(v, "%s: must be a duration such as \"1m\", not %s", s.full(key), yamlnode.Describe(v))
		return 0
	}
	if _, isInt := s.integerQuiet(key); isInt {
		l.errorf(v, "%s: %s has no unit; write a duration such as \"%ss\" (docker_auth reads a bare number as nanoseconds)", s.full(key), v.Value, v.Value)
		return 0
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil || d < 0 {
		l.errorf(v, "%s: %q is not a duration such as \"10s\" or \"1m\"", s.full(key), v.Value)
		return 0
	}
	return config.Duration(d)
}

// integerQuiet reports whether key holds a whole number, without errors.
func (s *section) integerQuiet(key string) (int64, bool) {
	v := s.value(key)
	if v == nil || v.Kind != yaml.ScalarNode || v.Style != 0 {
		return 0, false
	}
	var n int64
	if err := v.Decode(&n); err != nil {
		return 0, false
	}
	return n, true
}

// present reports whether section name is set and not empty.
func present(top *section, name string) bool {
	return !yamlnode.IsNull(yamlnode.Resolve(top.vals[name]))
}
