package distribution

import "strings"

// kind is the shape a key's value must have.
type kind uint8

const (
	kScalar  kind = iota // one value
	kList                // a YAML sequence of elem
	kSection             // a mapping with the fixed keys in fields
	kDict                // a mapping with free keys, each value an elem
	kAny                 // anything; not inspected (only ever not-supported sections)
)

// valueType is what a scalar must parse as.
type valueType uint8

const (
	tString valueType = iota
	tBool             // YAML 1.1 booleans, as distribution's yaml.v2 reads them
	tInt
	tDuration // "10s", or an integer number of nanoseconds as yaml.v2 reads it
)

// status says what wharf does with a key that is present.
type status uint8

const (
	translated    status = iota // read by translate.go
	noEffect                    // accepted; logged at info with note
	notYetSet                   // an error when it holds any value
	notYetPresent               // an error when present at all, even empty (storage drivers)
)

// spec describes one key of distribution's configuration.
type spec struct {
	kind   kind
	typ    valueType // kScalar
	fields []field   // kSection
	elem   *spec     // kList, kDict
	status status
	note   string // for noEffect: why; for notYet*: what to do meanwhile
	// scalarForm: a bare scalar X means {X: {}}, as distribution's Storage and
	// Auth types unmarshal "storage: filesystem" and REGISTRY_AUTH=token.
	scalarForm bool
}

// field is one key of a section.
type field struct {
	name string // the YAML key
	// env is the path element distribution's environment parser matches:
	// the upper-cased Go field name, which is the upper-cased YAML key except
	// for the few fields renamed by their yaml tag.
	env  string
	spec *spec
}

func (s *spec) field(name string) *field {
	for i := range s.fields {
		if s.fields[i].name == name {
			return &s.fields[i]
		}
	}
	return nil
}

func (s *spec) envField(elem string) *field {
	for i := range s.fields {
		if s.fields[i].env == elem {
			return &s.fields[i]
		}
	}
	return nil
}

func (s *spec) is(st status, note string) *spec { s.status, s.note = st, note; return s }

func scalar(t valueType) *spec { return &spec{kind: kScalar, typ: t} }
func str() *spec               { return scalar(tString) }
func boolean() *spec           { return scalar(tBool) }
func integer() *spec           { return scalar(tInt) }
func duration() *spec          { return scalar(tDuration) }
func list(e *spec) *spec       { return &spec{kind: kList, elem: e} }
func dict(e *spec) *spec       { return &spec{kind: kDict, elem: e} }
func anything() *spec          { return &spec{kind: kAny} }
func section(fs ...field) *spec {
	return &spec{kind: kSection, fields: fs}
}
func f(name string, s *spec) field { return field{name: name, env: strings.ToUpper(name), spec: s} }

// renamed is a field whose Go name (and so its environment name) differs
// from its YAML key, e.g. health.file is Health.FileCheckers.
func renamed(name, env string, s *spec) field { return field{name: name, env: env, spec: s} }

// schema is every key of distribution v2.8 and v3.x's configuration.
var schema = newSchema()

func newSchema() *spec {
	notYet := func(s *spec) *spec { return s.is(notYetSet, "") }
	driver := func() *spec {
		return anything().is(notYetPresent, "wharf stores blobs in storage.filesystem or storage.s3 for now")
	}
	// storage.s3 with every key of distribution v2.8 and v3's S3 driver.
	s3 := section(
		f("accesskey", str()), f("secretkey", str()), f("sessiontoken", str()),
		f("region", str()), f("regionendpoint", str()), f("forcepathstyle", boolean()),
		f("bucket", str()), f("encrypt", boolean()), f("keyid", str()),
		f("secure", boolean()), f("skipverify", boolean()), f("chunksize", integer()),
		f("rootdirectory", str()), f("storageclass", str()),
		f("v4auth", boolean().is(noEffect, "wharf always signs with AWS Signature Version 4")),
		f("multipartcopychunksize", integer().is(noEffect, "wharf copies blobs over 5 GiB server-side in 1 GiB parts")),
		f("multipartcopymaxconcurrency", integer().is(noEffect, "wharf copies blobs over 5 GiB server-side in 1 GiB parts")),
		f("multipartcopythresholdsize", integer().is(noEffect, "wharf copies blobs up to 5 GiB in one server-side request")),
		f("useragent", str().is(noEffect, "wharf sends the AWS SDK's user agent")),
		f("objectacl", str().is(noEffect, "wharf's objects are private; pulls use presigned URLs")),
		f("loglevel", anything().is(noEffect, "wharf logs S3 failures with the request that met them")),
		f("accelerate", notYet(boolean())), f("usedualstack", notYet(boolean())), f("usefipsendpoint", notYet(boolean())),
		f("redirectendpoint", str()),
	)

	storage := section(
		f("filesystem", section(
			f("rootdirectory", str()),
			f("maxthreads", integer().is(noEffect, "wharf bounds its filesystem concurrency itself")),
		)),
		f("delete", section(f("enabled", boolean()))),
		f("cache", section(f("blobdescriptor", str()), f("blobdescriptorsize", integer())).
			is(noEffect, "wharf keeps blob descriptors in its metadata database")),
		f("maintenance", section(
			f("uploadpurging", section(f("enabled", boolean()), f("age", str()), f("interval", str()), f("dryrun", boolean()))),
			f("readonly", section(f("enabled", boolean()))),
		)),
		f("redirect", section(f("disable", boolean()))),
		f("tag", section(f("concurrencylimit", integer())).is(noEffect, "tag lookups come from the metadata database")),
		f("s3", s3), f("azure", driver()), f("gcs", driver()),
		f("inmemory", driver()), f("swift", driver()), f("oss", driver()),
	)
	storage.scalarForm = true

	auth := section(
		f("token", section(
			f("realm", str()), f("service", str()), f("issuer", str()),
			f("rootcertbundle", str()), f("jwks", str()),
			f("autoredirect", boolean()), f("autoredirectpath", str()),
			f("signingalgorithms", list(str())),
		)),
		f("htpasswd", section(f("realm", str()), f("path", str()))),
		f("silly", section(f("realm", str()), f("service", str()))),
	)
	auth.scalarForm = true

	headers := dict(list(str()))
	checker := func(fs ...field) *spec {
		return list(section(append(fs, f("interval", duration()), f("threshold", integer()))...))
	}

	return section(
		f("version", str()),
		f("log", section(
			f("level", str()),
			f("formatter", str()),
			// TODO(config): config.Log has no Fields; distribution adds them to every line.
			f("fields", dict(anything()).is(noEffect, "wharf does not add static fields to its log yet")),
			f("accesslog", section(f("disabled", boolean()))),
			f("hooks", notYet(anything())),
			f("reportcaller", boolean().is(noEffect, "wharf's log does not name the calling function")),
		)),
		f("loglevel", str()), // deprecated spelling of log.level
		f("storage", storage),
		f("auth", auth),
		f("middleware", notYet(anything())),
		f("http", section(
			f("addr", str()),
			f("net", str()),
			f("host", str().is(noEffect, "wharf builds URLs from each request's Host header for now")),
			f("prefix", str()),
			f("secret", str().is(noEffect, "wharf keeps upload state in its database and signs nothing with it")),
			f("relativeurls", boolean().is(noEffect, "wharf's Location headers are always relative")),
			f("draintimeout", duration().is(noEffect, "wharf drains connections on shutdown with its own timeout")),
			f("tls", section(
				f("certificate", str()), f("key", str()),
				f("clientcas", list(str())), f("clientauth", str()), f("minimumtls", str()),
				f("ciphersuites", notYet(list(str()))),
				f("letsencrypt", notYet(section(f("cachefile", str()), f("email", str()),
					f("hosts", list(str())), f("directoryurl", str())))),
			)),
			f("headers", headers),
			f("debug", section(f("addr", str()), f("prometheus", section(f("enabled", boolean()), f("path", str())).
				is(noEffect, "wharf has no Prometheus endpoint yet; /healthz and /readyz are on its main port")))),
			f("http2", section(f("disabled", boolean())).is(noEffect, "wharf negotiates HTTP/2 over TLS itself")),
			f("h2c", notYet(section(f("enabled", boolean())))),
		)),
		f("notifications", section(
			renamed("events", "EVENTCONFIG", section(f("includereferences", boolean()))),
			f("endpoints", list(section(
				f("name", str()), f("disabled", boolean()), f("url", str()), f("headers", headers),
				f("timeout", duration()), f("threshold", integer()), f("backoff", duration()),
				f("ignoredmediatypes", list(str())),
				f("ignore", section(f("mediatypes", list(str())), f("actions", list(str())))),
				// wharf's additions (docs/notifications.md).
				f("secret", str()), f("repositories", list(str())), f("backlog", integer()), f("maxevents", integer()),
			))),
		)),
		f("redis", notYet(anything())),
		f("health", section(
			renamed("file", "FILECHECKERS", checker(f("file", str()))),
			renamed("http", "HTTPCHECKERS", checker(f("timeout", duration()), f("statuscode", integer()),
				f("uri", str()), f("headers", headers))),
			renamed("tcp", "TCPCHECKERS", checker(f("timeout", duration()), f("addr", str()))),
			f("storagedriver", section(f("enabled", boolean()), f("interval", duration()), f("threshold", integer()))),
		).is(noEffect, "wharf serves /healthz and /readyz instead")),
		f("catalog", section(f("maxentries", integer())).is(noEffect, "wharf pages the catalog with its own limit")),
		f("tags", section(f("maxtags", integer())).is(noEffect, "wharf pages tag lists with its own limit")),
		f("proxy", section(f("remoteurl", str()), f("username", str()), f("password", str()), f("ttl", duration()),
			f("exec", notYet(section(f("command", str()), f("lifetime", duration())))))),
		f("validation", section(
			f("enabled", boolean()), f("disabled", boolean()),
			f("manifests", section(
				f("urls", section(f("allow", list(str())), f("deny", list(str())))),
				f("indexes", section(f("platforms", str()),
					f("platformlist", list(section(f("architecture", str()), f("os", str())))))),
			)),
		).is(noEffect, "wharf applies its own manifest validation")),
		f("policy", notYet(section(f("repository", section(f("classes", list(str()))))))),
		f("reporting", section(
			f("bugsnag", section(f("apikey", str()), f("releasestage", str()), f("endpoint", str()))),
			f("newrelic", section(f("licensekey", str()), f("name", str()), f("verbose", boolean()))),
		).is(noEffect, "wharf reports errors to its log only")),
		f("compatibility", section(
			f("schema1", section(renamed("signingkeyfile", "TRUSTKEY", str()), f("enabled", boolean()))),
		).is(noEffect, "wharf serves no schema1 manifests")),
	)
}

// builtinConfig is /etc/docker/registry/config.yml of the registry:2 image
// (distribution-library-image), which the image runs when no file is
// mounted over it. Load uses it when path is "".
const builtinConfig = `version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`
