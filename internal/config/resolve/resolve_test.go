package resolve

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/config"
)

// writeFile writes body to a file named name in a fresh directory.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence: for each key a flag and a variable can give, every
// combination of file, environment and flag: the flag wins over the
// environment, the environment over the file, the file over the default,
// and Sources says which one it was.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	type layers struct{ file, env, flag string }
	keys := []struct {
		key, fileKey string // fileKey is the YAML that sets key
		env, flag    string
		def          string
		values       layers
		get          func(config.Config) string
	}{
		{"addr", "addr: %q", "WHARF_ADDR", "addr", ":5000", layers{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"},
			func(c config.Config) string { return c.Addr }},
		{"data", "data: %q", "WHARF_DATA", "data", "./wharf-data", layers{"/srv/file", "/srv/env", "/srv/flag"},
			func(c config.Config) string { return c.Data }},
		{"log.level", "log: {level: %q}", "WHARF_LOG_LEVEL", "log-level", "info", layers{"warn", "error", "debug"},
			func(c config.Config) string { return c.Log.Level }},
		{"log.format", "log: {format: %q}", "WHARF_LOG_FORMAT", "log-format", "text", layers{"json", "text", "json"},
			func(c config.Config) string { return c.Log.Format }},
		{"log.access", "log: {access: %q}", "WHARF_LOG_ACCESS", "log-access", "on", layers{"off", "on", "off"},
			func(c config.Config) string { return c.Log.Access }},
		{"tls", "tls: %q", "WHARF_TLS", "tls", "auto", layers{"off", "auto", "off"},
			func(c config.Config) string { return c.TLS }},
		{"token_addr", "token_addr: %q", "WHARF_TOKEN_ADDR", "token-addr", "", layers{":6001", ":6002", ":6003"},
			func(c config.Config) string { return c.TokenAddr }},
		{"trusted_proxies", "trusted_proxies: [%q]", "WHARF_TRUSTED_PROXIES", "trusted-proxies", "", layers{"10.0.0.1", "10.0.0.0/8,192.0.2.1", "::1"},
			func(c config.Config) string { return strings.Join(c.TrustedProxies, ",") }},
		{"tls_names", "tls_names: [%q]", "WHARF_TLS_NAMES", "tls-name", "", layers{"file.example", "a.example,192.0.2.1", "flag.example,b.example"},
			func(c config.Config) string { return strings.Join(c.TLSNames, ",") }},
		{"database.dsn", "database: {dsn: %q}", "WHARF_DATABASE_DSN", "database-dsn", "", layers{"/srv/file.db", "/srv/env.db", "/srv/flag.db"},
			func(c config.Config) string { return c.Database.DSN }},
	}
	for _, k := range keys {
		for mask := range 8 {
			hasFile, hasEnv, hasFlag := mask&1 != 0, mask&2 != 0, mask&4 != 0
			name := k.key + "/"
			in := Input{Role: config.RoleAllInOne, Flags: map[string]string{}}
			want, wantFrom := k.def, "default"
			if hasFile {
				p := writeFile(t, "wharf.yml", "# settings\n"+strings.ReplaceAll(k.fileKey, "%q", `"`+k.values.file+`"`)+"\n")
				in.Environ = append(in.Environ, "WHARF_CONFIG="+p)
				want, wantFrom, name = k.values.file, p+":2", name+"file"
			}
			if hasEnv {
				in.Environ = append(in.Environ, k.env+"="+k.values.env)
				want, wantFrom, name = k.values.env, k.env, name+"+env"
			}
			if hasFlag {
				in.Flags[k.flag] = k.values.flag
				want, wantFrom, name = k.values.flag, "--"+k.flag, name+"+flag"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c, err := Config(in)
				if err != nil {
					t.Fatal(err)
				}
				if got := k.get(c); got != want {
					t.Errorf("%s = %q, want %q", k.key, got, want)
				}
				if got := c.Sources[k.key]; got != wantFrom {
					t.Errorf("Sources[%s] = %q, want %q", k.key, got, wantFrom)
				}
				if c.Role != config.RoleAllInOne {
					t.Errorf("role %q", c.Role)
				}
			})
		}
	}
}

// TestConfigFlagBeatsVariable: --config names the file even when
// WHARF_CONFIG names another.
func TestConfigFlagBeatsVariable(t *testing.T) {
	t.Parallel()
	env := writeFile(t, "env.yml", "data: /from/env-file\n")
	flag := writeFile(t, "flag.yml", "data: /from/flag-file\n")
	c, err := Config(Input{Role: config.RoleAllInOne, Flags: map[string]string{"config": flag}, Environ: []string{"WHARF_CONFIG=" + env}})
	if err != nil || c.Data != "/from/flag-file" {
		t.Fatalf("data %q, %v; want the --config file's", c.Data, err)
	}
}

// TestEmptyVariableIsUnset: WHARF_X= is no setting (a compose file's
// empty default), while an empty flag is one.
func TestEmptyVariableIsUnset(t *testing.T) {
	t.Parallel()
	c, err := Config(Input{Role: config.RoleAllInOne, Environ: []string{"WHARF_ADDR=", "WHARF_LOG_LEVEL="}})
	if err != nil || c.Addr != ":5000" || c.Sources["addr"] != "default" {
		t.Fatalf("addr %q from %q, %v", c.Addr, c.Sources["addr"], err)
	}
	_, err = Config(Input{Role: config.RoleAllInOne, Flags: map[string]string{"addr": ""}})
	if err == nil || !strings.Contains(err.Error(), "addr: must not be empty (for example \":5000\") (from --addr)") {
		t.Fatalf("--addr '': %v", err)
	}
}

// TestDatabase: the driver and DSN of the flags and environment apply
// together over the file's section, as they always have for wharf serve.
func TestDatabase(t *testing.T) {
	t.Parallel()
	pgFile := writeFile(t, "wharf.yml", "database:\n  driver: postgres\n  dsn: postgres://file@db/wharf\n")
	dsnFile := writeFile(t, "wharf.yml", "database:\n  driver: postgres\n  dsn_file: /run/secrets/dsn\n")
	tests := []struct {
		name    string
		file    string
		env     []string
		flags   map[string]string
		want    config.Database
		sources map[string]string
	}{
		{"default", "", nil, nil, config.Database{Driver: "sqlite"}, map[string]string{"database.driver": "default", "database.dsn": "default"}},
		{"environment only", "", []string{"WHARF_DATABASE_DRIVER=postgres", "WHARF_DATABASE_DSN=postgres://env@db/wharf"}, nil,
			config.Database{Driver: "postgres", DSN: "postgres://env@db/wharf"},
			map[string]string{"database.driver": "WHARF_DATABASE_DRIVER", "database.dsn": "WHARF_DATABASE_DSN"}},
		{"a DSN replaces the file's", pgFile, []string{"WHARF_DATABASE_DSN=postgres://env@db/wharf"}, nil,
			config.Database{Driver: "postgres", DSN: "postgres://env@db/wharf"},
			map[string]string{"database.driver": pgFile + ":2", "database.dsn": "WHARF_DATABASE_DSN"}},
		{"a DSN replaces the file's dsn_file", dsnFile, []string{"WHARF_DATABASE_DSN=postgres://env@db/wharf"}, nil,
			config.Database{Driver: "postgres", DSN: "postgres://env@db/wharf"}, nil},
		{"the file's driver again keeps its DSN", pgFile, []string{"WHARF_DATABASE_DRIVER=postgres"}, nil,
			config.Database{Driver: "postgres", DSN: "postgres://file@db/wharf"},
			map[string]string{"database.driver": "WHARF_DATABASE_DRIVER", "database.dsn": pgFile + ":3"}},
		{"another driver drops the file's DSN", pgFile, []string{"WHARF_DATABASE_DRIVER=mysql", "WHARF_DATABASE_DSN=u:p@tcp(db)/wharf"}, nil,
			config.Database{Driver: "mysql", DSN: "u:p@tcp(db)/wharf"}, nil},
		{"flag driver, variable DSN", "", []string{"WHARF_DATABASE_DSN=postgres://env@db/wharf"}, map[string]string{"database-driver": "postgres"},
			config.Database{Driver: "postgres", DSN: "postgres://env@db/wharf"},
			map[string]string{"database.driver": "--database-driver", "database.dsn": "WHARF_DATABASE_DSN"}},
		{"flag DSN beats variable DSN", "", []string{"WHARF_DATABASE_DRIVER=postgres", "WHARF_DATABASE_DSN=postgres://env@db/wharf"},
			map[string]string{"database-dsn": "postgres://flag@db/wharf"}, config.Database{Driver: "postgres", DSN: "postgres://flag@db/wharf"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := tc.env
			if tc.file != "" {
				env = append([]string{"WHARF_CONFIG=" + tc.file}, env...)
			}
			c, err := Config(Input{Role: config.RoleAllInOne, Environ: env, Flags: tc.flags})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.Database); diff != "" {
				t.Errorf("database (-want +got):\n%s", diff)
			}
			for k, v := range tc.sources {
				if c.Sources[k] != v {
					t.Errorf("Sources[%s] = %q, want %q", k, c.Sources[k], v)
				}
			}
		})
	}
	// A driver without its DSN is refused, naming where the driver came from.
	_, err := Config(Input{Role: config.RoleAllInOne, Environ: []string{"WHARF_CONFIG=" + pgFile, "WHARF_DATABASE_DRIVER=mysql"}})
	if err == nil || !strings.Contains(err.Error(), "database.dsn: required with driver mysql") {
		t.Errorf("another driver without a DSN: %v", err)
	}
}

// TestForeignRoles: wharf registry and wharf auth read their foreign file
// (--config, else WHARF_CONFIG) and --data and --addr over it; the other
// WHARF_* variables belong to wharf.yml's settings and do not apply.
func TestForeignRoles(t *testing.T) {
	t.Parallel()
	regFile := writeFile(t, "config.yml", "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\nhttp:\n  addr: :5050\n")
	authFile := writeFile(t, "auth_config.yml", `server: {addr: ":5001"}
token: {issuer: Auth Service, expiration: 900, certificate: /t.crt, key: /t.key}
users:
  "": {}
acl:
  - match: {account: ""}
    actions: ["pull"]
`)
	ignored := []string{"WHARF_DATA=/ignored", "WHARF_ADDR=:1", "WHARF_LOG_LEVEL=loud"}
	tests := []struct {
		name               string
		in                 Input
		wantAddr, wantData string
		wantFrom           map[string]string
	}{
		{"registry from WHARF_CONFIG", Input{Role: config.RoleRegistry, Environ: append([]string{"WHARF_CONFIG=" + regFile}, ignored...)},
			":5050", "/srv/registry", map[string]string{"addr": regFile, "data": regFile}},
		{"registry with REGISTRY_* and flags", Input{Role: config.RoleRegistry, Environ: append([]string{"REGISTRY_HTTP_ADDR=:5051"}, ignored...),
			Flags: map[string]string{"config": regFile, "data": "/srv/flag"}},
			":5051", "/srv/flag", map[string]string{"addr": regFile, "data": "--data"}},
		{"auth", Input{Role: config.RoleAuth, Environ: ignored, Flags: map[string]string{"config": authFile}},
			":5001", DefaultAuthData, map[string]string{"addr": authFile, "data": "default"}},
		{"auth with flags", Input{Role: config.RoleAuth, Flags: map[string]string{"config": authFile, "addr": ":6001", "data": "/srv/auth"}},
			":6001", "/srv/auth", map[string]string{"addr": "--addr", "data": "--data"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Config(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Role != tc.in.Role || c.Addr != tc.wantAddr || c.Data != tc.wantData {
				t.Errorf("role %q addr %q data %q; want %q %q %q", c.Role, c.Addr, c.Data, tc.in.Role, tc.wantAddr, tc.wantData)
			}
			if diff := cmp.Diff(tc.wantFrom, c.Sources); diff != "" {
				t.Errorf("sources (-want +got):\n%s", diff)
			}
			if c.Log.Level != "info" {
				t.Errorf("log level %q: WHARF_LOG_LEVEL applied to a foreign role", c.Log.Level)
			}
		})
	}
	// The rules of docker_auth's file are parsed as wharf.yml's are.
	c, err := Config(Input{Role: config.RoleAuth, Flags: map[string]string{"config": authFile}})
	if err != nil || !c.ACL.Given || len(c.ACL.Rules) != 1 || c.ACL.Rules[0].Line != 6 {
		t.Errorf("auth ACL %+v, %v; want one rule at line 6", c.ACL, err)
	}
}

// TestForeignLogFlags: wharf registry and wharf auth take --log-level,
// --log-format and --log-access over their file (docker_auth's has no log
// settings at all), checked as wharf.yml's are; the WHARF_LOG_* variables
// stay wharf.yml's.
func TestForeignLogFlags(t *testing.T) {
	t.Parallel()
	regFile := writeFile(t, "config.yml", "version: 0.1\nlog:\n  level: warn\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\n")
	authFile := writeFile(t, "auth_config.yml", "server: {addr: \":5001\"}\ntoken: {issuer: i, expiration: 900, certificate: /t.crt, key: /t.key}\nusers: {}\nacl: []\n")
	env := []string{"WHARF_LOG_FORMAT=text", "WHARF_LOG_ACCESS=on"}
	flags := map[string]string{"log-level": "debug", "log-format": "json", "log-access": "off"}
	for role, file := range map[string]string{config.RoleRegistry: regFile, config.RoleAuth: authFile} {
		in := Input{Role: role, Environ: env, Flags: map[string]string{"config": file}}
		for k, v := range flags {
			in.Flags[k] = v
		}
		c, err := Config(in)
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if c.Log.Level != "debug" || c.Log.Format != "json" || c.Log.AccessOn() || c.Sources["log.format"] != "--log-format" {
			t.Errorf("%s: log %+v from %v; want the flags'", role, c.Log, c.Sources)
		}
		in.Flags["log-format"] = "xml"
		if _, err := Config(in); err == nil || !strings.Contains(err.Error(), `log.format: "xml" is not one of text, json (from --log-format)`) {
			t.Errorf("%s: --log-format xml: %v", role, err)
		}
	}
}

// TestRefusesWhatItCannotHonour: a flag resolve does not know for the role
// would be silently ignored, so it is an error; so is an unknown role.
func TestRefusesWhatItCannotHonour(t *testing.T) {
	t.Parallel()
	for _, in := range []Input{
		{Role: config.RoleAllInOne, Flags: map[string]string{"json": "true"}},
		{Role: config.RoleRegistry, Flags: map[string]string{"tls": "off"}},
		{Role: "gateway"},
	} {
		if _, err := Config(in); err == nil || !strings.HasPrefix(err.Error(), "resolve: ") {
			t.Errorf("Config(%+v) = %v, want a resolve error", in, err)
		}
	}
}

// TestEveryProblemAtOnce: the file's problems, the environment's and the
// flags' come in one error, each naming its line or where it came from.
func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "wharf.yml", `adr: ":6000"
token:
  expiration: soon
acl:
  - match: {acount: alice}
    actions: [pull]
`)
	_, err := Config(Input{Role: config.RoleAllInOne, Environ: []string{"WHARF_CONFIG=" + p, "WHARF_LOG_LEVEL=loud"}, Flags: map[string]string{"tls": "on"}})
	if err == nil {
		t.Fatal("resolved an invalid configuration")
	}
	for _, want := range []string{
		"invalid configuration:\n",
		p + `: line 1: unknown key "adr" (did you mean addr?)`,
		p + `: line 3: "soon" is not a duration`,
		p + `: line 5: acl: unknown key "acount" in match (did you mean "account"?)`,
		`log.level: "loud" is not one of debug, info, warn, error (from WHARF_LOG_LEVEL)`,
		`tls: "on" is not one of auto, files, acme, off (from --tls)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// TestMissingFile: a file that cannot be read is an error of its own.
func TestMissingFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yml")
	_, err := Config(Input{Role: config.RoleAllInOne, Flags: map[string]string{"config": missing}})
	if err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestDocumented: the README's settings table and docs/configuration.md
// name every variable and flag resolve honours, so that what the docs
// promise and what the commands read cannot drift apart.
func TestDocumented(t *testing.T) {
	t.Parallel()
	readme, err1 := os.ReadFile("../../../README.md")
	conf, err2 := os.ReadFile("../../../docs/configuration.md")
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	for _, s := range append(settings, setting{env: configEnv, flag: configFlag}) {
		for _, want := range []string{"`" + s.env + "`", "`--" + s.flag + "`"} {
			if !strings.Contains(string(readme), want) {
				t.Errorf("README.md does not mention %s", want)
			}
		}
		if !strings.Contains(string(conf), "`"+s.env+"`") {
			t.Errorf("docs/configuration.md does not mention `%s`", s.env)
		}
	}
}

// TestReadOnly: read_only from the file, WHARF_READ_ONLY and --read-only,
// in that precedence, and a value that is no boolean named with its source.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	on := filepath.Join(dir, "on.yml")
	if err := os.WriteFile(on, []byte("read_only: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags map[string]string
		env   []string
		want  bool
		from  string
	}{
		{name: "default", want: false, from: "default"},
		{name: "file", flags: map[string]string{"config": on}, want: true, from: on + ":1"},
		{name: "environment", env: []string{"WHARF_READ_ONLY=1"}, want: true, from: "WHARF_READ_ONLY"},
		{name: "flag over environment", flags: map[string]string{"read-only": "false"}, env: []string{"WHARF_READ_ONLY=true"}, want: false, from: "--read-only"},
		{name: "environment over file", flags: map[string]string{"config": on}, env: []string{"WHARF_READ_ONLY=false"}, want: false, from: "WHARF_READ_ONLY"},
	} {
		c, err := Config(Input{Role: config.RoleAllInOne, Flags: tc.flags, Environ: tc.env})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.ReadOnly != tc.want || c.Sources["read_only"] != tc.from {
			t.Errorf("%s: read_only %v from %q, want %v from %q", tc.name, c.ReadOnly, c.Sources["read_only"], tc.want, tc.from)
		}
	}
	_, err := Config(Input{Role: config.RoleAllInOne, Environ: []string{"WHARF_READ_ONLY=maybe"}})
	if err == nil || !strings.Contains(err.Error(), `read_only (from WHARF_READ_ONLY): "maybe" is not true or false`) {
		t.Errorf("WHARF_READ_ONLY=maybe: %v", err)
	}
}

// TestDeprecatedKeyIsLogged: a file using uploads.max_age resolves to the
// same gc.uploads_grace and the command's log says what to write instead.
func TestDeprecatedKeyIsLogged(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "wharf.yml", "uploads:\n  max_age: 2h\n")
	var logged bytes.Buffer
	c, err := Config(Input{Role: config.RoleAllInOne, Flags: map[string]string{"config": path},
		Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if c.GC.UploadsGrace.Std() != 2*time.Hour {
		t.Errorf("gc.uploads_grace = %s, want 2h", c.GC.UploadsGrace.Std())
	}
	for _, want := range []string{"level=WARN", "uploads.max_age is deprecated", "gc.uploads_grace", "source=" + path + ":2"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log %q does not say %q", logged.String(), want)
		}
	}
}
