package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// MongoDB defaults and bounds.
const (
	// DefaultMongoTimeout bounds connecting and each query when dial_info
	// gives no timeout (docker_auth's default).
	DefaultMongoTimeout = 10 * time.Second
	// DefaultACLCacheTTL is how often acl_mongo and acl_xorm reload their
	// rules when cache_ttl is not set.
	DefaultACLCacheTTL = time.Minute
	// MinACLCacheTTL is the shortest reload interval accepted.
	MinACLCacheTTL = time.Second
	// DefaultMongoAuthSource is the database MongoDB checks the
	// connection's credentials in when dial_info.source is not set: admin,
	// as docker_auth connects.
	DefaultMongoAuthSource = "admin"
)

// MongoDial is how to reach a MongoDB server: docker_auth's dial_info.
type MongoDial struct {
	// Addrs are the servers, host or host:port (default port 27017).
	Addrs []string `yaml:"addrs"`
	// Timeout bounds connecting and each query (default 10s).
	Timeout Duration `yaml:"timeout"`
	// Database holds the collections.
	Database string `yaml:"database"`
	// Source is the database the credentials are checked in (default
	// admin, as docker_auth).
	Source string `yaml:"source"`
	// Username, with Password or (better) PasswordFile, logs in; empty
	// connects without credentials.
	Username string `yaml:"username"`
	// Password is accepted because docker_auth reads it; it is never
	// printed or logged. Prefer PasswordFile.
	Password string `yaml:"password"`
	// PasswordFile holds the password (surrounding white space is
	// trimmed, as docker_auth does).
	PasswordFile string `yaml:"password_file"`
	// Mechanism is SCRAM-SHA-1 or SCRAM-SHA-256; empty lets the server
	// and driver agree.
	Mechanism string `yaml:"mechanism"`
	// Direct connects to the first address only, without discovering the
	// rest of a replica set.
	Direct bool `yaml:"direct"`
	// EnableTLS connects with TLS, verifying the server's certificate
	// against the system's roots or CACertificate.
	EnableTLS bool `yaml:"enable_tls"`
	// CACertificate is a PEM file of the CAs trusted for the server's
	// certificate (implies enable_tls).
	CACertificate string `yaml:"ca_certificate"`
}

// MongoAuth authenticates users stored in a MongoDB collection
// (docker_auth's mongo_auth): documents {username, password (bcrypt),
// labels}.
type MongoAuth struct {
	DialInfo   MongoDial `yaml:"dial_info"`
	Collection string    `yaml:"collection"`
}

// ACLMongo reads ACL rules from a MongoDB collection (docker_auth's
// acl_mongo): documents {seq, match, actions, comment}, applied in
// ascending seq and reloaded every CacheTTL.
type ACLMongo struct {
	DialInfo   MongoDial `yaml:"dial_info"`
	Collection string    `yaml:"collection"`
	// CacheTTL is how often the rules are reloaded (default 1m).
	CacheTTL Duration `yaml:"cache_ttl"`
}

// TimeoutOrDefault is the configured timeout, or DefaultMongoTimeout.
func (d MongoDial) TimeoutOrDefault() time.Duration {
	if d.Timeout <= 0 {
		return DefaultMongoTimeout
	}
	return d.Timeout.Std()
}

// SourceOrDefault is the authentication database.
func (d MongoDial) SourceOrDefault() string {
	if d.Source == "" {
		return DefaultMongoAuthSource
	}
	return d.Source
}

// String describes the connection without its password.
func (d MongoDial) String() string {
	s := "mongodb://"
	if d.Username != "" {
		s += d.Username + "@"
	}
	return s + strings.Join(d.Addrs, ",") + "/" + d.Database
}

// LogValue logs the connection without its password.
func (d MongoDial) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("addrs", d.Addrs), slog.String("database", d.Database),
		slog.String("username", d.Username), slog.Bool("tls", d.EnableTLS || d.CACertificate != ""))
}

// CacheTTLOrDefault is the configured reload interval, or DefaultACLCacheTTL.
func (a ACLMongo) CacheTTLOrDefault() time.Duration { return ttlOrDefault(a.CacheTTL) }

func ttlOrDefault(d Duration) time.Duration {
	if d <= 0 {
		return DefaultACLCacheTTL
	}
	return d.Std()
}

func (d MongoDial) validate(prefix string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{prefix, key}, args...)...))
	}
	if len(d.Addrs) == 0 {
		bad("addrs", "required: the MongoDB servers, host or host:port (for example [\"mongo.example.com:27017\"])")
	}
	for i, a := range d.Addrs {
		if err := checkMongoAddr(a); err != nil {
			bad(fmt.Sprintf("addrs[%d]", i), "%v", err)
		}
	}
	if d.Timeout < 0 {
		bad("timeout", "must be positive (for example \"10s\")")
	}
	if d.Database == "" {
		bad("database", "required: the database holding the collection (docker_auth's examples use docker_auth)")
	}
	if d.Password != "" && d.PasswordFile != "" {
		bad("password", "and password_file are both set; keep password_file")
	}
	if (d.Password != "" || d.PasswordFile != "") && d.Username == "" {
		bad("username", "required with a password: the account to log in as")
	}
	switch d.Mechanism {
	case "", "SCRAM-SHA-1", "SCRAM-SHA-256":
	default:
		bad("mechanism", "%q is not SCRAM-SHA-1 or SCRAM-SHA-256 (leave it empty to let the server choose)", d.Mechanism)
	}
	return errs
}

func checkMongoAddr(a string) error {
	if a == "" {
		return errors.New("empty address")
	}
	if strings.Contains(a, "://") || strings.ContainsAny(a, "/?@,") {
		return fmt.Errorf("%q: give host or host:port, without a scheme, credentials or options", a)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return nil
		}
		return fmt.Errorf("%q is not host or host:port", a)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: the port must be a number from 1 to 65535", a)
	}
	return nil
}

func (m MongoAuth) validate() []error {
	errs := m.DialInfo.validate("mongo_auth.dial_info")
	if m.Collection == "" {
		errs = append(errs, errors.New("mongo_auth.collection: required: the collection of user documents (docker_auth's examples use users)"))
	}
	return errs
}

func (a ACLMongo) validate() []error {
	errs := a.DialInfo.validate("acl_mongo.dial_info")
	if a.Collection == "" {
		errs = append(errs, errors.New("acl_mongo.collection: required: the collection of ACL documents (docker_auth's examples use acl)"))
	}
	errs = append(errs, validateTTL("acl_mongo.cache_ttl", a.CacheTTL)...)
	return errs
}

func validateTTL(key string, d Duration) []error {
	if d < 0 || (d > 0 && d.Std() < MinACLCacheTTL) {
		return []error{fmt.Errorf("%s: must be at least %s (for example \"1m\"; empty means %s)", key, MinACLCacheTTL, DefaultACLCacheTTL)}
	}
	return nil
}

// validateDatabaseBackends checks mongo_auth, acl_mongo, xorm_auth and
// acl_xorm.
func (c Config) validateDatabaseBackends() []error {
	var errs []error
	if c.MongoAuth != nil {
		errs = append(errs, c.MongoAuth.validate()...)
	}
	if c.ACLMongo != nil {
		errs = append(errs, c.ACLMongo.validate()...)
	}
	if c.XormAuth != nil {
		errs = append(errs, c.XormAuth.validate("xorm_auth")...)
	}
	if c.ACLXorm != nil {
		errs = append(errs, XormAuth{DatabaseType: c.ACLXorm.DatabaseType, ConnString: c.ACLXorm.ConnString,
			ConnStringFile: c.ACLXorm.ConnStringFile}.validate("acl_xorm")...)
		errs = append(errs, validateTTL("acl_xorm.cache_ttl", c.ACLXorm.CacheTTL)...)
	}
	if (c.MongoAuth != nil || c.ACLMongo != nil || c.XormAuth != nil || c.ACLXorm != nil) && (c.Auth != "token" || c.Role == RoleRegistry) {
		errs = append(errs, errors.New("mongo_auth, acl_mongo, xorm_auth and acl_xorm answer token requests; they need auth: token (wharf serve or wharf auth)"))
	}
	return errs
}
