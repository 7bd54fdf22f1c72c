package distribution

import (
	"slices"
	"testing"
	"time"

	"wharf/internal/config"
)

// classicStack is the registry's environment in the classic compose file,
// with the quotes a compose list puts into the values, and some unrelated
// variables every container has.
var classicStack = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOSTNAME=registry",
	"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry",
	`REGISTRY_HTTP_ADDR="0.0.0.0:443"`,
	"REGISTRY_AUTH=token",
	"REGISTRY_AUTH_TOKEN_REALM=https://auth-server.io:5001/auth",
	`REGISTRY_AUTH_TOKEN_SERVICE="Docker registry"`,
	`REGISTRY_AUTH_TOKEN_ISSUER="Auth Service"`,
	"REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=/certs/auth-server.crt",
	"REGISTRY_HTTP_TLS_CERTIFICATE=/certs/registry-server.crt",
	"REGISTRY_HTTP_TLS_KEY=/certs/registry-server.key",
}

// The classic stack's registry, configured by environment over the image's
// built-in file, becomes a token-verifying registry on 0.0.0.0:443. The
// quotes compose leaves in the values are YAML quotes to distribution, so
// they are gone: the issuer is Auth Service, as docker_auth's.
func TestClassicStackEnvironment(t *testing.T) {
	t.Parallel()
	log, logs := newLog()
	got, err := Load("", classicStack, log)
	if err != nil {
		t.Fatal(err)
	}
	want := registryBase()
	want.Addr = "0.0.0.0:443"
	want.Headers = map[string][]string{"X-Content-Type-Options": {"nosniff"}}
	want.Auth = "token"
	want.Token.Realm = "https://auth-server.io:5001/auth"
	want.Token.Service = "Docker registry"
	want.Token.Issuer = "Auth Service"
	want.Token.RootCertBundle = "/certs/auth-server.crt"
	want.TLS = "files"
	want.TLSFiles = config.TLSFiles{Certificate: "/certs/registry-server.crt", Key: "/certs/registry-server.key"}
	diffConfig(t, want, got)
	if err := got.Validate(); err != nil {
		t.Errorf("classic stack does not validate: %v", err)
	}
	if w := Warnings(got); w != nil {
		t.Errorf("Warnings = %q, want none", w)
	}
	if w := logs.lines("WARN"); len(w) != 0 {
		t.Errorf("warnings logged: %q", w)
	}

	// Order in the environment does not matter: distribution sorts.
	reversed := slices.Clone(classicStack)
	slices.Reverse(reversed)
	again, err := Load("", reversed, nil)
	if err != nil {
		t.Fatal(err)
	}
	diffConfig(t, got, again)
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string // "" for the built-in config
		env  []string
		want func(*config.Config)
		logs [][]string // level, then substrings
	}{
		{name: "htpasswd", env: []string{"REGISTRY_AUTH=htpasswd", "REGISTRY_AUTH_HTPASSWD_REALM=Registry", "REGISTRY_AUTH_HTPASSWD_PATH=/auth/registry.password"},
			want: func(c *config.Config) {
				c.Auth = "htpasswd"
				c.Htpasswd = config.Htpasswd{Realm: "Registry", Path: "/auth/registry.password"}
			}},
		{name: "REGISTRY_AUTH replaces the file's auth section", file: minimal + "auth:\n  htpasswd: {realm: r, path: /p}\n",
			env:  []string{"REGISTRY_AUTH=silly", "REGISTRY_AUTH_SILLY_REALM=r", "REGISTRY_AUTH_SILLY_SERVICE=s"},
			want: func(c *config.Config) { c.Auth, c.Silly = "silly", config.Silly{Realm: "r", Service: "s"} },
			logs: [][]string{{"WARN", "replaces the whole section from line 6", "variable=REGISTRY_AUTH"}}},
		{name: "a provider's keys merge into the file's", file: minimal + "auth:\n  htpasswd: {realm: r, path: /p}\n",
			env:  []string{"REGISTRY_AUTH_HTPASSWD_PATH=/q"},
			want: func(c *config.Config) { c.Auth, c.Htpasswd = "htpasswd", config.Htpasswd{Realm: "r", Path: "/q"} }},
		{name: "REGISTRY_STORAGE=filesystem drops the built-in storage section",
			env:  []string{"REGISTRY_STORAGE=filesystem", "REGISTRY_STORAGE_DELETE_ENABLED=true"},
			want: func(c *config.Config) { c.Storage.Delete = true },
			logs: [][]string{{"INFO", "replaces the whole section from built-in config line 6"}}},
		{name: "REGISTRY_STORAGE=s3 with REGISTRY_STORAGE_S3_*", env: []string{"REGISTRY_STORAGE=s3", "REGISTRY_STORAGE_S3_BUCKET=registry",
			"REGISTRY_STORAGE_S3_REGION=eu-west-1", "REGISTRY_STORAGE_S3_REGIONENDPOINT=https://s3.example.com", "REGISTRY_STORAGE_S3_FORCEPATHSTYLE=true",
			"REGISTRY_STORAGE_S3_ACCESSKEY=AKIAEXAMPLE", "REGISTRY_STORAGE_S3_SECRETKEY=wJalrXUtnFEMI", "REGISTRY_STORAGE_REDIRECT_DISABLE=true"},
			want: func(c *config.Config) {
				c.Storage.S3 = &config.S3{Bucket: "registry", Region: "eu-west-1", RegionEndpoint: "https://s3.example.com",
					ForcePathStyle: true, AccessKey: "AKIAEXAMPLE"}
				c.Storage.S3.SetSecrets("wJalrXUtnFEMI", "")
				c.Storage.Redirect.Disable = true
			},
			logs: [][]string{{"INFO", "replaces the whole section from built-in config line 6"}}},
		{name: "REGISTRY_STORAGE_MAINTENANCE_READONLY", env: []string{"REGISTRY_STORAGE_MAINTENANCE_READONLY={enabled: true}"},
			want: func(c *config.Config) { c.ReadOnly = true }},
		{name: "REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED", env: []string{"REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED=true"},
			want: func(c *config.Config) { c.ReadOnly = true }},
		{name: "values are YAML", env: []string{"REGISTRY_HTTP_TLS_CLIENTCAS=[/a.pem, '/b.pem']", "REGISTRY_HTTP_TLS_CERTIFICATE=/c", "REGISTRY_HTTP_TLS_KEY=/k",
			"REGISTRY_STORAGE_DELETE_ENABLED=yes", "REGISTRY_LOG_LEVEL='debug'", "REGISTRY_HTTP_HEADERS_X-FRAME-OPTIONS=[DENY]"},
			want: func(c *config.Config) {
				c.TLS = "files"
				c.TLSFiles = config.TLSFiles{Certificate: "/c", Key: "/k", ClientCAs: []string{"/a.pem", "/b.pem"}}
				c.Storage.Delete = true
				c.Log.Level = "debug"
				c.Headers = map[string][]string{"X-Content-Type-Options": {"nosniff"}, "X-Frame-Options": {"DENY"}}
			}},
		{name: "list elements by index", env: []string{"REGISTRY_HTTP_TLS_CLIENTCAS_0=/a.pem", "REGISTRY_HTTP_TLS_CLIENTCAS_1=/b.pem",
			"REGISTRY_HTTP_TLS_CERTIFICATE=/c", "REGISTRY_HTTP_TLS_KEY=/k"},
			want: func(c *config.Config) {
				c.TLS = "files"
				c.TLSFiles = config.TLSFiles{Certificate: "/c", Key: "/k", ClientCAs: []string{"/a.pem", "/b.pem"}}
			}},
		{name: "map keys match case-insensitively", file: minimal + "http:\n  headers:\n    X-Frame-Options: [DENY]\n",
			env:  []string{"REGISTRY_HTTP_HEADERS_X-FRAME-OPTIONS=[SAMEORIGIN]"},
			want: func(c *config.Config) { c.Headers = map[string][]string{"X-Frame-Options": {"SAMEORIGIN"}} }},
		{name: "renamed sections use distribution's Go names", env: []string{"REGISTRY_HEALTH_FILECHECKERS_0_FILE=/tmp/down",
			"REGISTRY_NOTIFICATIONS_EVENTCONFIG_INCLUDEREFERENCES=true", "REGISTRY_COMPATIBILITY_SCHEMA1_TRUSTKEY=/k.json"},
			want: func(c *config.Config) { c.Notifications.Events.IncludeReferences = true },
			logs: [][]string{{"INFO", "key=compatibility", "source=REGISTRY_COMPATIBILITY_SCHEMA1_TRUSTKEY"}}},
		{name: "notification endpoints by index", env: []string{"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_NAME=hook",
			"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL=http://hook.example/events", "REGISTRY_NOTIFICATIONS_ENDPOINTS_0_TIMEOUT=500ms",
			"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_BACKOFF=2000000000", "REGISTRY_NOTIFICATIONS_ENDPOINTS_0_THRESHOLD=3",
			"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_HEADERS_AUTHORIZATION=[Bearer t]", "REGISTRY_NOTIFICATIONS_ENDPOINTS_0_IGNORE_ACTIONS=[pull]",
			"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_IGNOREDMEDIATYPES=[application/octet-stream]",
			"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_SECRET=s3cret", "REGISTRY_NOTIFICATIONS_ENDPOINTS_0_REPOSITORIES=[team/*]",
			"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_MAXEVENTS=20"},
			want: func(c *config.Config) {
				c.Notifications.Endpoints = []config.Endpoint{{Name: "hook", URL: "http://hook.example/events",
					Timeout: config.Duration(500 * time.Millisecond), Backoff: config.Duration(2 * time.Second), Threshold: 3,
					Headers: map[string][]string{"authorization": {"Bearer t"}}, Ignore: config.EndpointIgnore{Actions: []string{"pull"}},
					IgnoredMediaTypes: []string{"application/octet-stream"}, Secret: "s3cret", Repositories: []string{"team/*"}, MaxEvents: 20}}
			}},
		{name: "Kubernetes service links are skipped", env: []string{"REGISTRY_PORT=tcp://10.0.0.1:5000", "REGISTRY_PORT_5000_TCP_ADDR=10.0.0.1",
			"REGISTRY_SERVICE_HOST=10.0.0.1", "REGISTRY_SERVICE_PORT_HTTP=5000", "REGISTRY_AUTH_PORT=tcp://10.0.0.3:5001",
			"REGISTRY_AUTH_SERVICE_HOST=10.0.0.3"},
			want: func(*config.Config) {},
			logs: [][]string{{"WARN", "Kubernetes", "variable=REGISTRY_PORT"}, {"WARN", "Kubernetes", "variable=REGISTRY_AUTH_PORT"},
				{"WARN", "Kubernetes", "variable=REGISTRY_SERVICE_PORT_HTTP"}}},
		{name: "REGISTRY_LOG_ACCESSLOG_DISABLED turns the access log off", env: []string{"REGISTRY_LOG_ACCESSLOG_DISABLED=true"},
			want: func(c *config.Config) { c.Log.Access = "off" }},
		{name: "an empty value clears a key", file: minimal + "http:\n  addr: :6000\n", env: []string{"REGISTRY_HTTP_ADDR="},
			want: func(*config.Config) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			log, logs := newLog()
			got, err := Load(path, tc.env, log)
			if err != nil {
				t.Fatal(err)
			}
			want := registryBase()
			if tc.file != "" {
				want.Data = "/srv/registry"
			} else {
				want.Headers = map[string][]string{"X-Content-Type-Options": {"nosniff"}}
			}
			tc.want(&want)
			diffConfig(t, want, got)
			for _, l := range tc.logs {
				if len(logs.lines(l[0], l[1:]...)) == 0 {
					t.Errorf("no %s log line with %q:\n%s", l[0], l[1:], logs)
				}
			}
		})
	}
}

func TestEnvironmentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		is   error
		want []string
	}{
		{"unknown key", []string{"REGISTRY_HTTP_HOTS=x"}, ErrUnknownKey, []string{"REGISTRY_HTTP_HOTS: unknown key http.hots (did you mean host?)"}},
		{"lower-case name", []string{"REGISTRY_http_addr=:1"}, ErrUnknownKey, []string{"REGISTRY_http_addr", "upper-case names only: HTTP"}},
		{"below a single value", []string{"REGISTRY_HTTP_ADDR_PORT=1"}, ErrUnknownKey, []string{"REGISTRY_HTTP_ADDR_PORT", "http.addr is a single value"}},
		{"empty element", []string{"REGISTRY_HTTP__ADDR=1"}, ErrUnknownKey, []string{"REGISTRY_HTTP__ADDR"}},
		{"s3 next to filesystem", []string{"REGISTRY_STORAGE_S3_BUCKET=b"}, nil, []string{"REGISTRY_STORAGE_S3_BUCKET", "exactly one", "REGISTRY_STORAGE=s3"}},
		{"proxy exec", []string{"REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io", "REGISTRY_PROXY_EXEC_COMMAND=/bin/cred"}, ErrNotSupported, []string{"REGISTRY_PROXY_EXEC_COMMAND: not supported yet: proxy.exec"}},
		{"notification endpoint timeout", []string{"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_TIMEOUT=soon"}, nil, []string{"REGISTRY_NOTIFICATIONS_ENDPOINTS_0_TIMEOUT", "not a duration"}},
		{"quoted boolean", []string{`REGISTRY_STORAGE_DELETE_ENABLED="true"`}, nil, []string{"REGISTRY_STORAGE_DELETE_ENABLED", "not true or false"}},
		{"not YAML", []string{`REGISTRY_HTTP_SECRET="abc`}, nil, []string{"REGISTRY_HTTP_SECRET", "as YAML"}},
		{"a string where a list goes", []string{"REGISTRY_HTTP_TLS_CLIENTCAS=' - /certs/domain.ca-bundle'"}, nil, []string{"REGISTRY_HTTP_TLS_CLIENTCAS", "must be a list"}},
		{"index past the end", []string{"REGISTRY_HTTP_TLS_CLIENTCAS_1=/b.pem"}, nil, []string{"REGISTRY_HTTP_TLS_CLIENTCAS_1", "not an index"}},
		{"a mapping where a string goes", []string{"REGISTRY_AUTH_TOKEN_ISSUER=Auth: Service", "REGISTRY_AUTH=token"}, nil, []string{"REGISTRY_AUTH_TOKEN_ISSUER", "must be a single value"}},
		{"token without realm", []string{"REGISTRY_AUTH=token", "REGISTRY_AUTH_TOKEN_SERVICE=s", "REGISTRY_AUTH_TOKEN_ISSUER=i", "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=/b", "REGISTRY_AUTH_TOKEN_REALM="},
			nil, []string{"REGISTRY_AUTH_TOKEN_REALM: auth.token.realm: required"}},
		{"not a service link: odd value", []string{"REGISTRY_AUTH_PORT=5001 please", "REGISTRY_AUTH_SERVICE_HOST=10.0.0.3"}, ErrUnknownKey, []string{"REGISTRY_AUTH_PORT: unknown key auth.port"}},
		{"not a service link: no such service", []string{"REGISTRY_HTTP_PORT=5000"}, ErrUnknownKey, []string{"REGISTRY_HTTP_PORT: unknown key http.port"}},
		{"version", []string{"REGISTRY_VERSION=0.2"}, nil, []string{"REGISTRY_VERSION"}},
		{"under a scalar section in the file", []string{"REGISTRY_HTTP_TLS_KEY=/k"}, nil, []string{"REGISTRY_HTTP_TLS_KEY", "line 5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tc.name == "under a scalar section in the file" {
				path = writeConfig(t, minimal+"http: {tls: x}\n")
			}
			_, err := Load(path, tc.env, nil)
			checkErr(t, err, tc.is, tc.want...)
		})
	}
}

// Values quoted twice keep a pair of quotes, and nothing then matches the
// token server's issuer: Load warns at warn, naming the variable or line,
// and Warnings says the same for a config checked again later.
func TestQuoteWarnings(t *testing.T) {
	t.Parallel()
	const msg = `auth.token.issuer is "\"Auth Service\"" with literal quotes in the value itself: it matches no auth.token.issuer written without them (it was quoted twice, e.g. '"…"' in YAML or KEY='"…"' in an environment variable or env-file); quote it once or not at all: Auth Service`
	tests := []struct {
		name, file string
		env        []string
		source     string
		want       []string
	}{
		{name: "environment", env: []string{"REGISTRY_AUTH=token", "REGISTRY_AUTH_TOKEN_REALM=r", `REGISTRY_AUTH_TOKEN_SERVICE=s`,
			"REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=/b", `REGISTRY_AUTH_TOKEN_ISSUER='"Auth Service"'`},
			source: "source=REGISTRY_AUTH_TOKEN_ISSUER", want: []string{msg}},
		{name: "file", file: minimal + "auth:\n  token:\n    realm: r\n    service: \"'s'\"\n    issuer: '\"Auth Service\"'\n    rootcertbundle: /b\n",
			source: `source="line 9"`,
			want: []string{
				`auth.token.service is "'s'" with literal quotes in the value itself: it matches no auth.token.service written without them (it was quoted twice, e.g. '"…"' in YAML or KEY='"…"' in an environment variable or env-file); quote it once or not at all: s`,
				msg}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tc.file != "" {
				path = writeConfig(t, tc.file)
			}
			log, logs := newLog()
			c, err := Load(path, tc.env, log)
			if err != nil {
				t.Fatal(err)
			}
			if got := Warnings(c); !slices.Equal(got, tc.want) {
				t.Errorf("Warnings =\n%q\nwant\n%q", got, tc.want)
			}
			if len(logs.lines("WARN", "auth.token.issuer", "literal quotes", tc.source)) != 1 {
				t.Errorf("no warning naming %s:\n%s", tc.source, logs)
			}
		})
	}
}
