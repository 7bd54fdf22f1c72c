package resolve

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"wharf/internal/compat/distribution"
	"wharf/internal/compat/dockerauth"
	"wharf/internal/config"
)

// DefaultAuthData is the data directory of `wharf auth` (its refresh-token
// database) when --data is not given.
const DefaultAuthData = "./wharf-auth-data"

// Input is what a command knows about where its settings are.
type Input struct {
	// Role is config.RoleAllInOne (wharf.yml and WHARF_*; every command
	// but registry and auth), config.RoleRegistry or config.RoleAuth.
	Role string
	// Flags are the flags the user gave, by name without dashes ("data",
	// "database-dsn"), even when given empty. A flag left at its default
	// must not be here: it would hide the environment and the file.
	Flags map[string]string
	// Environ is the environment, as os.Environ returns it.
	Environ []string
	// Log receives the foreign readers' notes (keys accepted without
	// effect, values with literal quotes); nil discards them.
	Log *slog.Logger
}

// setting is a value that a flag and a WHARF_* variable can give, over
// the file's key.
type setting struct {
	key, env, flag string
	set            func(c *config.Config, v string)
}

// The settings the roles of foreign files have too, and the database's,
// whose driver and DSN are applied together (sources.database).
var (
	addr     = setting{"addr", "WHARF_ADDR", "addr", func(c *config.Config, v string) { c.Addr = v }}
	data     = setting{"data", "WHARF_DATA", "data", func(c *config.Config, v string) { c.Data = v }}
	dbDriver = setting{"database.driver", "WHARF_DATABASE_DRIVER", "database-driver", nil}
	dbDSN    = setting{"database.dsn", "WHARF_DATABASE_DSN", "database-dsn", nil}
	// The log's settings: every role has a log, and docker_auth's file
	// says nothing about it.
	logLevel  = setting{"log.level", "WHARF_LOG_LEVEL", "log-level", func(c *config.Config, v string) { c.Log.Level = v }}
	logFormat = setting{"log.format", "WHARF_LOG_FORMAT", "log-format", func(c *config.Config, v string) { c.Log.Format = v }}
	logAccess = setting{"log.access", "WHARF_LOG_ACCESS", "log-access", func(c *config.Config, v string) { c.Log.Access = v }}
	// readOnly is a boolean: applied by sources.readOnly, which reports a
	// value that is not one.
	readOnly = setting{"read_only", "WHARF_READ_ONLY", "read-only", nil}
)

// settings are those of wharf.yml's role.
var settings = []setting{
	addr,
	{"token_addr", "WHARF_TOKEN_ADDR", "token-addr", func(c *config.Config, v string) { c.TokenAddr = v }},
	data,
	{"auth", "WHARF_AUTH", "auth", func(c *config.Config, v string) { c.Auth = v }},
	{"tls", "WHARF_TLS", "tls", func(c *config.Config, v string) { c.TLS = v }},
	{"trusted_proxies", "WHARF_TRUSTED_PROXIES", "trusted-proxies", func(c *config.Config, v string) {
		c.TrustedProxies = strings.Split(v, ",")
	}},
	// tls_names has a variable and a flag because a container is
	// configured by its environment: the generated certificate must name
	// the host clients use before the first pull.
	{"tls_names", "WHARF_TLS_NAMES", "tls-name", func(c *config.Config, v string) { c.TLSNames = list(v) }},
	{"debug_addr", "WHARF_DEBUG_ADDR", "debug-addr", func(c *config.Config, v string) { c.DebugAddr = v }},
	logLevel,
	logFormat,
	logAccess,
	dbDriver,
	dbDSN,
	readOnly,
}

// list splits a comma-separated value, dropping the spaces around items
// and empty items ("a, b," is a and b).
func list(v string) []string {
	var items []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// configFlag and configEnv name the configuration file in every role.
const (
	configFlag = "config"
	configEnv  = "WHARF_CONFIG"
)

// foreignSettings are the flags of `wharf registry` and `wharf auth` over
// their file; these roles read no WHARF_* variable but WHARF_CONFIG.
var foreignSettings = []setting{addr, data, logLevel, logFormat, logAccess}

// Config resolves the configuration of a command playing in.Role and
// validates it. Every problem — the file's (unknown keys, values of the
// wrong type, bad users and ACL rules, each with its line and, for a
// mistyped key, the key it probably meant), and the merged result's — is
// reported at once, under "invalid configuration:", each naming where its
// value came from when that was not the file.
func Config(in Input) (config.Config, error) {
	if in.Log == nil {
		in.Log = slog.New(slog.DiscardHandler)
	}
	src := sources{in: in, env: environment(in.Environ)}
	var (
		c        config.Config
		problems []error
		err      error
	)
	switch in.Role {
	case config.RoleAllInOne:
		c, problems, err = src.wharf()
	case config.RoleRegistry, config.RoleAuth:
		c, err = src.foreign()
	default:
		err = fmt.Errorf("resolve: unknown role %q", in.Role)
	}
	if err != nil {
		return config.Config{}, err
	}
	c.Role, c.Sources = in.Role, src.origin
	for _, p := range flatten(c.Validate()) {
		problems = append(problems, annotate(src.origin, p))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("invalid configuration:\n%w", errors.Join(problems...))
	}
	return c, nil
}

// sources looks values up and remembers where each came from.
type sources struct {
	in     Input
	env    map[string]string
	origin map[string]string
}

// pick returns the value of s the flags or else the environment give, and
// where it came from ("" when neither gives one).
func (src *sources) pick(s setting) (value, from string) {
	if v, ok := src.in.Flags[s.flag]; ok {
		return v, "--" + s.flag
	}
	if v := src.env[s.env]; v != "" {
		return v, s.env
	}
	return "", ""
}

// file is the configuration file's path: --config, else WHARF_CONFIG.
func (src *sources) file() string {
	if v, ok := src.in.Flags[configFlag]; ok {
		return v
	}
	return src.env[configEnv]
}

// wharf resolves wharf.yml's role: defaults < file < WHARF_* < flags.
func (src *sources) wharf() (config.Config, []error, error) {
	known := []string{configFlag}
	for _, s := range settings {
		known = append(known, s.flag)
	}
	if err := src.checkFlags(known); err != nil {
		return config.Config{}, nil, err
	}
	c, problems := config.Default(), []error(nil)
	src.origin = map[string]string{}
	var f *config.File
	if path := src.file(); path != "" {
		var err error
		if f, err = config.ReadFile(path); err != nil {
			return config.Config{}, nil, err
		}
		c, problems = f.Config, f.Problems
		for _, d := range f.Deprecations {
			src.in.Log.Warn(d.Message, "key", d.Key, "source", fmt.Sprintf("%s:%d", f.Path, d.Line))
		}
	}
	for _, s := range settings {
		src.origin[s.key] = "default"
		if f != nil && f.Line(s.key) > 0 {
			src.origin[s.key] = fmt.Sprintf("%s:%d", f.Path, f.Line(s.key))
		}
		if v, from := src.pick(s); from != "" && s.set != nil {
			s.set(&c, v)
			src.origin[s.key] = from
		}
	}
	src.database(&c)
	if err := src.readOnly(&c); err != nil {
		problems = append(problems, err)
	}
	if v := src.env[config.EnvAdminPassword]; v != "" {
		c.SetAdminPassword(v) // checked by Validate with the rest
	}
	return c, problems, nil
}

// database applies a driver and DSN given by flag or environment over the
// file's database section. A DSN given that way replaces a dsn_file of the
// file; another driver drops the file's DSN, which was written for the
// file's driver.
func (src *sources) database(c *config.Config) {
	driver, driverFrom := src.pick(dbDriver)
	dsn, dsnFrom := src.pick(dbDSN)
	if driver != "" {
		if driver != c.Database.DriverName() {
			c.Database.DSN, c.Database.DSNFile = "", ""
			src.origin["database.dsn"] = "default"
		}
		c.Database.Driver, src.origin["database.driver"] = driver, driverFrom
	}
	if dsn != "" {
		c.Database.DSN, c.Database.DSNFile = dsn, ""
		src.origin["database.dsn"] = dsnFrom
	}
}

// readOnly applies read_only given by flag or environment: true, false,
// 1, 0 (strconv.ParseBool's words).
func (src *sources) readOnly(c *config.Config) error {
	v, from := src.pick(readOnly)
	if from == "" {
		return nil
	}
	on, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("read_only (from %s): %q is not true or false", from, v)
	}
	c.ReadOnly, src.origin[readOnly.key] = on, from
	return nil
}

// foreign resolves `wharf registry` and `wharf auth`: the foreign file as
// its reader translates it, then --data and --addr.
func (src *sources) foreign() (config.Config, error) {
	known := []string{configFlag}
	for _, s := range foreignSettings {
		known = append(known, s.flag)
	}
	if err := src.checkFlags(known); err != nil {
		return config.Config{}, err
	}
	var (
		c    config.Config
		err  error
		name = src.file()
	)
	if src.in.Role == config.RoleRegistry {
		c, err = distribution.Load(name, src.in.Environ, src.in.Log)
		if name == "" {
			name = "REGISTRY_* and the registry:2 image's config"
		}
	} else {
		c, err = dockerauth.Load(name, src.in.Log)
	}
	if err != nil {
		return config.Config{}, err
	}
	src.origin = map[string]string{"addr": name, "data": name}
	if src.in.Role == config.RoleAuth {
		// docker_auth has no data directory: wharf keeps refresh tokens.
		c.Data, src.origin["data"] = DefaultAuthData, "default"
	}
	for _, s := range foreignSettings {
		if v, ok := src.in.Flags[s.flag]; ok {
			s.set(&c, v)
			src.origin[s.key] = "--" + s.flag
		}
	}
	return c, nil
}

// checkFlags refuses a flag that is not a setting of the role: a command
// that hands one in has a flag resolve would silently ignore.
func (src *sources) checkFlags(known []string) error {
	for name := range src.in.Flags {
		if !slices.Contains(known, name) {
			return fmt.Errorf("resolve: --%s is not a setting of the %s role", name, src.in.Role)
		}
	}
	return nil
}

// annotate names where the value a validation problem is about came
// from, when that was not the default: a WHARF_* variable set long ago is
// easy to forget.
func annotate(origin map[string]string, p error) error {
	msg, best := p.Error(), ""
	for key := range origin {
		if len(key) > len(best) && (strings.HasPrefix(msg, key+":") || strings.HasPrefix(msg, key+"[")) {
			best = key
		}
	}
	if from := origin[best]; best != "" && from != "default" {
		return fmt.Errorf("%w (from %s)", p, from)
	}
	return p
}

// environment indexes environ; the last of repeated names wins, as with
// os.Getenv.
func environment(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// flatten returns the errors an errors.Join holds, err alone, or none.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Problems returns the problems an error of Config holds, one each (those
// of a file or of the merged settings), or err alone when it is of another
// kind (a file that cannot be read). wharf doctor reports each as a check.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		return joined.Unwrap()
	}
	return []error{err}
}
