package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the whole of wharf.yml.
type Config struct {
	// Addr is the listen address, host:port. Port 0 picks a free port.
	Addr string `yaml:"addr"`
	// Data is the directory holding blobs, the metadata database and, later,
	// generated certificates.
	Data string `yaml:"data"`
	// Auth is the authentication mode. Only "none" exists until token
	// authentication lands.
	Auth string `yaml:"auth"`
	// TLS is the transport security mode. Only "off" exists until HTTPS lands.
	TLS string `yaml:"tls"`
	// Log configures the server log.
	Log Log `yaml:"log"`
	// Uploads tunes upload sessions.
	Uploads Uploads `yaml:"uploads"`
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
		Auth:    "none",
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
	if c.Auth != "none" {
		errs = append(errs, fmt.Errorf("auth: %q is not available in this version; use \"none\"", c.Auth))
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
