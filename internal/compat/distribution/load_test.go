package distribution

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wharf/internal/config"
)

// The registry:2 image runs its built-in config.yml when none is mounted;
// wharf registry without a file must behave the same.
func TestLoadBuiltinConfig(t *testing.T) {
	t.Parallel()
	log, logs := newLog()
	got, err := Load("", nil, log)
	if err != nil {
		t.Fatal(err)
	}
	want := registryBase()
	want.Headers = map[string][]string{"X-Content-Type-Options": {"nosniff"}}
	diffConfig(t, want, got)
	if err := got.Validate(); err != nil {
		t.Errorf("built-in config does not validate: %v", err)
	}
	for _, key := range []string{"log.fields", "storage.cache", "health"} {
		if len(logs.lines("INFO", "no effect", "key="+key)) != 1 {
			t.Errorf("no info line says %s has no effect:\n%s", key, logs)
		}
	}
	if w := logs.lines("WARN"); len(w) != 0 {
		t.Errorf("built-in config logged warnings: %q", w)
	}

	// The same file, mounted, loads the same.
	fromFile, err := Load(writeConfig(t, builtinConfig), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	diffConfig(t, got, fromFile)
}

const minimal = "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /srv/registry\n"

func TestLoadFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want func(*config.Config)
		// log lines that must appear: level, then substrings
		logs [][]string
	}{
		{name: "minimal", body: minimal, want: func(*config.Config) {}},
		{name: "storage as a bare driver name", body: "version: 0.1\nstorage: filesystem\n",
			want: func(c *config.Config) { c.Data = "/var/lib/registry" }},
		{name: "token auth, TLS, headers, delete, logging", body: minimal + `  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: true
      age: 24h
      interval: 1h
log:
  level: DEBUG
  formatter: json
http:
  addr: 0.0.0.0:5443
  host: https://registry.example.com
  secret: s3cr3t
  tls:
    certificate: /certs/registry.crt
    key: /certs/registry.key
    clientcas: [/certs/ca.pem]
    minimumtls: tls1.2
  headers:
    x-frame-options: [DENY]
    Strict-Transport-Security: ["max-age=31536000"]
auth:
  token:
    realm: https://auth.example.com/auth
    service: Docker registry
    issuer: Auth Service
    rootcertbundle: /certs/auth.crt
    jwks: /certs/auth.jwks
    signingalgorithms: [RS256, ES256, EdDSA]
`,
			want: func(c *config.Config) {
				c.Storage.Delete = true
				c.GC.UploadsGrace = config.Duration(24 * time.Hour)
				c.Log.Level, c.Log.Format = "debug", "json"
				c.Addr = "0.0.0.0:5443"
				c.TLS = "files"
				c.TLSFiles = config.TLSFiles{Certificate: "/certs/registry.crt", Key: "/certs/registry.key", ClientCAs: []string{"/certs/ca.pem"}}
				c.Headers = map[string][]string{"X-Frame-Options": {"DENY"}, "Strict-Transport-Security": {"max-age=31536000"}}
				c.Auth = "token"
				c.Token.Realm, c.Token.Service, c.Token.Issuer = "https://auth.example.com/auth", "Docker registry", "Auth Service"
				c.Token.RootCertBundle, c.Token.JWKS = "/certs/auth.crt", "/certs/auth.jwks"
			},
			logs: [][]string{{"INFO", "key=http.host"}, {"INFO", "key=http.secret"}, {"INFO", "signingalgorithms"}}},
		{name: "autoredirect leaves the realm to each request", body: minimal + `auth:
  token: {realm: https://ignored.example.com/auth, service: registry, issuer: auth, rootcertbundle: /b.pem, autoredirect: true, autoredirectpath: /auth/token}
`,
			want: func(c *config.Config) {
				c.Auth = "token"
				c.Token.Service, c.Token.Issuer, c.Token.RootCertBundle = "registry", "auth", "/b.pem"
			},
			logs: [][]string{{"INFO", "autoredirect"}}},
		{name: "htpasswd", body: minimal + "auth:\n  htpasswd:\n    realm: Registry\n    path: /auth/registry.password\n",
			want: func(c *config.Config) {
				c.Auth = "htpasswd"
				c.Htpasswd = config.Htpasswd{Realm: "Registry", Path: "/auth/registry.password"}
			}},
		{name: "silly", body: minimal + "auth:\n  silly: {realm: r, service: s}\n",
			want: func(c *config.Config) {
				c.Auth = "silly"
				c.Silly = config.Silly{Realm: "r", Service: "s"}
			}},
		{name: "proxy is an upstream without a prefix", body: minimal + "proxy:\n  remoteurl: https://registry-1.docker.io\n  username: u\n  password: p\n  ttl: 1h\n",
			want: func(c *config.Config) {
				c.Proxy.Upstreams = []config.Upstream{{Mirror: true, URL: "https://registry-1.docker.io",
					Username: "u", Password: "p", TTL: config.Duration(time.Hour)}}
			}},
		{name: "empty auth section means none", body: minimal + "auth:\n", want: func(*config.Config) {}},
		{name: "deprecated loglevel and logstash", body: minimal + "loglevel: warn\nlog:\n  formatter: logstash\n",
			want: func(c *config.Config) { c.Log.Level, c.Log.Format = "warn", "json" },
			logs: [][]string{{"INFO", "deprecated"}, {"WARN", "logstash"}}},
		{name: "access log off", body: minimal + "log:\n  accesslog: {disabled: true}\n",
			want: func(c *config.Config) { c.Log.Access = "off" }},
		{name: "access log left on", body: minimal + "log:\n  accesslog: {disabled: false}\n",
			want: func(*config.Config) {}},
		{name: "read-only maintenance is read_only", body: minimal + "  maintenance: {readonly: {enabled: true}}\n",
			want: func(c *config.Config) { c.ReadOnly = true }},
		{name: "read-only maintenance off", body: minimal + "  maintenance: {readonly: {enabled: false}}\n",
			want: func(*config.Config) {}},
		{name: "upload purging off is announced", body: minimal + "  maintenance:\n    uploadpurging: {enabled: false, dryrun: true}\n",
			want: func(*config.Config) {},
			logs: [][]string{{"WARN", "uploadpurging.enabled is false"}, {"WARN", "dryrun"}}},
		{name: "sections without effect load and say so", body: minimal + `  redirect: {disable: true}
  tag: {concurrencylimit: 8}
  cache: {blobdescriptor: inmemory}
log:
  fields: {service: registry, environment: staging}
http:
  relativeurls: true
  draintimeout: 60s
  debug: {addr: localhost:5001, prometheus: {enabled: true, path: /metrics}}
  http2: {disabled: false}
notifications:
  events: {includereferences: true}
  endpoints: []
health:
  storagedriver: {enabled: true, interval: 10s, threshold: 3}
  file: [{file: /tmp/down, interval: 10s}]
  http: [{uri: http://localhost/health, statuscode: 200, timeout: 3s, headers: {Authorization: [Basic x]}}]
  tcp: [{addr: redis:6379, timeout: 3s, interval: 10s, threshold: 3}]
reporting:
  bugsnag: {apikey: k, releasestage: production}
  newrelic: {licensekey: k, name: registry, verbose: true}
validation:
  disabled: false
  manifests: {urls: {allow: ["^https?://([^/]+\\.)*example\\.com/"], deny: []}}
compatibility:
  schema1: {enabled: true, signingkeyfile: /etc/registry/key.json}
catalog: {maxentries: 500}
tags: {maxtags: 500}
proxy: {remoteurl: ""}
redis: {}
middleware: {}
`,
			want: func(c *config.Config) {
				c.DebugAddr = "localhost:5001"
				c.Notifications.Events.IncludeReferences = true
				c.Storage.Redirect.Disable = true
			},
			logs: [][]string{{"INFO", "key=log.fields"},
				{"INFO", "key=health"}, {"INFO", "key=reporting"}, {"INFO", "key=validation"}, {"INFO", "key=compatibility"},
				{"INFO", "key=http.debug.prometheus"}, {"INFO", "key=catalog"}}},
		{name: "s3", body: `version: 0.1
storage:
  s3:
    accesskey: AKIAEXAMPLE
    secretkey: wJalrXUtnFEMI
    region: eu-west-1
    regionendpoint: minio.example.com:9000
    secure: false
    forcepathstyle: true
    bucket: registry
    encrypt: true
    keyid: alias/registry
    chunksize: 10485760
    rootdirectory: /registry
    storageclass: NONE
    v4auth: true
    multipartcopythresholdsize: 33554432
    redirectendpoint: https://s3.example.com
  redirect:
    disable: false
  delete:
    enabled: true
`,
			want: func(c *config.Config) {
				insecure := false
				c.Data = registryBase().Data
				c.Storage.Delete = true
				c.Storage.S3 = &config.S3{AccessKey: "AKIAEXAMPLE", Region: "eu-west-1",
					RegionEndpoint: "minio.example.com:9000", Secure: &insecure, ForcePathStyle: true, Bucket: "registry",
					Encrypt: true, KeyID: "alias/registry", ChunkSize: 10 << 20, RootDirectory: "/registry",
					RedirectEndpoint: "https://s3.example.com"}
				c.Storage.S3.SetSecrets("wJalrXUtnFEMI", "")
			},
			logs: [][]string{{"INFO", "key=storage.s3.v4auth"}, {"INFO", "key=storage.s3.multipartcopythresholdsize"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log, logs := newLog()
			got, err := Load(writeConfig(t, tc.body), nil, log)
			if err != nil {
				t.Fatal(err)
			}
			want := registryBase()
			want.Data = "/srv/registry" // as in minimal
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

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		is   error
		want []string // substrings of the error
	}{
		{"missing version", "storage: filesystem\n", nil, []string{"version: missing"}},
		{"other version", "version: 0.2\nstorage: filesystem\n", nil, []string{"line 1", "0.1"}},
		{"not a mapping", "- version\n", nil, []string{"line 1", "mapping"}},
		{"bad YAML", "version: 0.1\n\tstorage: x\n", nil, []string{"yaml"}},
		{"unknown top-level key", minimal + "registry: {}\n", ErrUnknownKey, []string{"line 5", "unknown key registry"}},
		{"misspelt key", minimal + "http:\n  hots: https://r.example.com\n", ErrUnknownKey, []string{"line 6", "http.hots", "did you mean host?"}},
		{"upper-case key", minimal + "HTTP:\n  addr: :5000\n", ErrUnknownKey, []string{"line 5", "keys are lower case: http"}},
		{"unknown storage driver", "version: 0.1\nstorage:\n  filesytem: {rootdirectory: /x}\n", ErrUnknownKey, []string{"line 3", "storage.filesytem", "did you mean filesystem?"}},
		{"unknown auth provider", minimal + "auth:\n  ldap: {}\n", ErrUnknownKey, []string{"line 6", "auth.ldap"}},
		{"repeated key", minimal + "http:\n  addr: :1\n  addr: :2\n", nil, []string{"line 7", "http.addr: repeated (first at line 6)"}},
		{"no storage driver", "version: 0.1\nstorage:\n  delete: {enabled: true}\n", nil, []string{"no storage driver"}},
		{"s3 and filesystem", "version: 0.1\nstorage:\n  filesystem: {rootdirectory: /x}\n  s3:\n    bucket: b\n", nil, []string{"line 4", "exactly one"}},
		{"s3 accelerate", "version: 0.1\nstorage:\n  s3:\n    bucket: b\n    accelerate: true\n", ErrNotSupported, []string{"line 5", "not supported yet: storage.s3.accelerate"}},
		{"s3 unknown key", "version: 0.1\nstorage:\n  s3:\n    bucket: b\n    bukcet: c\n", ErrUnknownKey, []string{"line 5", "storage.s3.bukcet"}},
		{"inmemory with no parameters", "version: 0.1\nstorage:\n  inmemory:\n", ErrNotSupported, []string{"line 3", "not supported yet: storage.inmemory"}},
		{"azure", "version: 0.1\nstorage: azure\n", ErrNotSupported, []string{"not supported yet: storage.azure"}},
		{"gcs", "version: 0.1\nstorage: {gcs: {bucket: b}}\n", ErrNotSupported, []string{"not supported yet: storage.gcs"}},
		{"proxy ttl", minimal + "proxy:\n  remoteurl: https://registry-1.docker.io\n  ttl: soon\n", nil, []string{"proxy.ttl", "soon"}},
		{"redis", minimal + "redis:\n  addr: localhost:6379\n", ErrNotSupported, []string{"not supported yet: redis"}},
		{"middleware", minimal + "middleware:\n  storage: [{name: cloudfront}]\n", ErrNotSupported, []string{"not supported yet: middleware"}},
		{"notification endpoint key", minimal + "notifications:\n  endpoints:\n    - {name: hook, url: http://x, retries: 3}\n", nil, []string{"line 7", "unknown key notifications.endpoints.0.retries"}},
		{"log hooks", minimal + "log:\n  hooks: [{type: mail}]\n", ErrNotSupported, []string{"not supported yet: log.hooks"}},
		{"policy", minimal + "policy:\n  repository: {classes: [image]}\n", ErrNotSupported, []string{"not supported yet: policy"}},
		{"http prefix", minimal + "http:\n  prefix: /registry\n", ErrNotSupported, []string{"line 6", "not supported yet: http.prefix"}},
		{"unix socket", minimal + "http:\n  net: unix\n  addr: /run/registry.sock\n", ErrNotSupported, []string{"not supported yet: http.net unix"}},
		{"letsencrypt", minimal + "http:\n  tls:\n    letsencrypt: {cachefile: /le, email: a@b.c}\n", ErrNotSupported, []string{"line 7", "not supported yet: http.tls.letsencrypt"}},
		{"cipher suites", minimal + "http:\n  tls:\n    ciphersuites: [TLS_AES_128_GCM_SHA256]\n", ErrNotSupported, []string{"not supported yet: http.tls.ciphersuites"}},
		{"h2c", minimal + "http:\n  h2c: {enabled: true}\n", ErrNotSupported, []string{"not supported yet: http.h2c"}},
		{"TLS 1.3 floor", minimal + "http:\n  tls: {certificate: c, key: k, minimumtls: tls1.3}\n", ErrNotSupported, []string{"not supported yet: http.tls.minimumtls tls1.3"}},
		{"client auth mode", minimal + "http:\n  tls: {certificate: c, key: k, clientcas: [ca], clientauth: verify-client-cert-if-given}\n", ErrNotSupported, []string{"http.tls.clientauth"}},
		{"RSA-PSS", minimal + "auth:\n  token: {realm: r, service: s, issuer: i, rootcertbundle: b, signingalgorithms: [PS256]}\n", ErrNotSupported, []string{"PS256"}},
		{"HMAC", minimal + "auth:\n  token: {realm: r, service: s, issuer: i, rootcertbundle: b, signingalgorithms: [HS256]}\n", nil, []string{"HS256", "shared-secret"}},
		{"algorithms not a list", minimal + "auth:\n  token: {realm: r, service: s, issuer: i, rootcertbundle: b, signingalgorithms: RS256}\n", nil, []string{"signingalgorithms: must be a list"}},
		{"autoredirect path", minimal + "auth:\n  token: {realm: r, service: s, issuer: i, rootcertbundle: b, autoredirect: true, autoredirectpath: /token}\n", ErrNotSupported, []string{"autoredirectpath"}},
		{"two auth providers", minimal + "auth:\n  htpasswd: {realm: r, path: p}\n  silly: {realm: r, service: s}\n", nil, []string{"line 5", "htpasswd, silly", "exactly one"}},
		{"token without its settings", minimal + "auth: token\n", nil, []string{"auth.token.realm: required", "auth.token.service: required", "auth.token.issuer: required", "rootcertbundle or jwks"}},
		{"htpasswd without path", minimal + "auth:\n  htpasswd: {realm: r}\n", nil, []string{"line 6", "auth.htpasswd.path: required"}},
		{"quoted boolean", minimal + "  delete:\n    enabled: \"true\"\n", nil, []string{"line 6", "storage.delete.enabled", "not true or false"}},
		{"certificate without key", minimal + "http:\n  tls: {certificate: /c.pem}\n", nil, []string{"http.tls.key: required"}},
		{"key without certificate", minimal + "http:\n  tls: {key: /k.pem}\n", nil, []string{"http.tls.certificate: required"}},
		{"client CAs without TLS", minimal + "http:\n  tls: {clientcas: [/ca.pem]}\n", nil, []string{"http.tls.clientcas: needs"}},
		{"header value not a list", minimal + "http:\n  headers:\n    X-Frame-Options: DENY\n", nil, []string{"line 7", "must be a list such as [DENY]"}},
		{"bad log level", minimal + "log: {level: verbose}\n", nil, []string{"log.level", "verbose"}},
		{"bad formatter", minimal + "log: {formatter: xml}\n", nil, []string{"log.formatter", "xml"}},
		{"bad duration", minimal + "http: {draintimeout: soon}\n", nil, []string{"http.draintimeout", "soon"}},
		{"bad upload age", minimal + "  maintenance: {uploadpurging: {age: -1h}}\n", nil, []string{"uploadpurging.age"}},
		{"bad host", minimal + "http: {host: registry.example.com}\n", nil, []string{"http.host", "absolute URL"}},
		{"section given a value", minimal + "http: :5000\n", nil, []string{"line 5", "http: must be a mapping"}},
		{"alias cycles", minimal + "health: &a {file: *a}\nproxy: &b {x: *b, y: *b, z: *b}\n", nil, []string{"health.file: must be a list, not a mapping"}},
		{"complex key", "version: 0.1\nstorage: filesystem\n? [a]\n: b\n", nil, []string{"line 3", "top level: a key must be a name, not a list"}},
		{"every problem at once", minimal + "bogus: 1\nhttp: {prefix: /r, adress: x}\n", nil, []string{"unknown key bogus", "unknown key http.adress"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, tc.body), nil, nil)
			checkErr(t, err, tc.is, tc.want...)
		})
	}
}

// Every storage driver but filesystem and s3 is refused, in the file and from the
// environment, even without parameters (distribution would select it).
func TestOtherStorageDrivers(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"azure", "gcs", "inmemory", "swift", "oss"} {
		_, err := Load(writeConfig(t, "version: 0.1\nstorage:\n  "+d+":\n"), nil, nil)
		checkErr(t, err, ErrNotSupported, "line 3: not supported yet: storage."+d)
		_, err = Load("", []string{"REGISTRY_STORAGE=" + d}, nil)
		checkErr(t, err, ErrNotSupported, "REGISTRY_STORAGE: not supported yet: storage."+d)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yml"), nil, nil)
	checkErr(t, err, nil, "distribution:", "nope.yml")
}

// A file path names the file in every error; the built-in config says so.
func TestErrorNamesItsSource(t *testing.T) {
	t.Parallel()
	p := writeConfig(t, minimal+"bogus: 1\n")
	_, err := Load(p, nil, nil)
	checkErr(t, err, ErrUnknownKey, "distribution: "+p+": line 5")

	_, err = Load("", []string{"REGISTRY_BOGUS=1"}, nil)
	checkErr(t, err, ErrUnknownKey, "built-in registry:2 config", "REGISTRY_BOGUS: unknown key bogus")
	if strings.Contains(err.Error(), "line") {
		t.Errorf("an environment error names a line: %v", err)
	}
}
