package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole of wharf.yml.
type Config struct {
	// Addr is the listen address, host:port. Port 0 picks a free port.
	Addr string `yaml:"addr"`
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
	// hash and labels). Kept as YAML so that the authenticator that reads
	// them can report errors with their line numbers.
	Users yaml.Node `yaml:"users"`
	// ACL is the access control list in docker_auth's shape, kept as YAML
	// for the same reason.
	ACL yaml.Node `yaml:"acl"`
	// TLS is the transport security mode. Only "off" exists until HTTPS lands.
	TLS string `yaml:"tls"`
	// Log configures the server log.
	Log Log `yaml:"log"`
	// Uploads tunes upload sessions.
	Uploads Uploads `yaml:"uploads"`
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

// Htpasswd configures HTTP Basic authentication against an htpasswd file.
type Htpasswd struct {
	Realm string `yaml:"realm"`
	Path  string `yaml:"path"`
}

// Log configures the server log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Uploads tunes upload sessions.
type Uploads struct {
	// MaxAge is how long an idle upload session is kept before its staged
	// bytes are removed, e.g. "24h".
	MaxAge string `yaml:"max_age"`
}

// Default returns the embedded defaults.
func Default() Config {
	return Config{
		Addr:    ":5000",
		Data:    "./wharf-data",
		Auth:    "token",
		Token:   Token{Issuer: "wharf", Service: "wharf", Expiration: Duration(5 * time.Minute)},
		TLS:     "off",
		Log:     Log{Level: "info", Format: "text"},
		Uploads: Uploads{MaxAge: "24h"},
	}
}

// Load reads a wharf.yml over the defaults. Unknown keys are errors naming
// their line, so that a typo never silently changes behaviour.
func Load(path string) (Config, error) {
	c := Default()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if err := decode(bytes.NewReader(b), &c); err != nil {
		return c, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

func decode(r io.Reader, c *Config) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	err := dec.Decode(c)
	if errors.Is(err, io.EOF) {
		return nil // an empty file means all defaults
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

// Validate reports every problem with c at once, each with its key.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("addr: must not be empty (for example \":5000\")"))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("data: must not be empty (for example \"./wharf-data\")"))
	}
	switch c.Auth {
	case "token":
		if c.Token.Issuer == "" || c.Token.Service == "" {
			errs = append(errs, errors.New("token: issuer and service must not be empty"))
		}
		if c.Token.Expiration <= 0 {
			errs = append(errs, errors.New("token.expiration: must be positive (for example \"5m\" or 300)"))
		}
		if (c.Token.Certificate == "") != (c.Token.Key == "") {
			errs = append(errs, errors.New("token: certificate and key go together; give both or neither"))
		}
	case "htpasswd":
		if c.Htpasswd.Path == "" {
			errs = append(errs, errors.New("htpasswd.path: required with auth: htpasswd (make one with `htpasswd -nB USER`)"))
		}
	case "none":
	default:
		errs = append(errs, fmt.Errorf("auth: %q is not one of token, htpasswd, none", c.Auth))
	}
	if c.TLS != "off" {
		errs = append(errs, fmt.Errorf("tls: %q is not available in this version; use \"off\"", c.TLS))
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
	if _, err := c.UploadMaxAge(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
