package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Proxy configures pull-through caches: repositories whose content is
// fetched from another registry on first pull and served from the cache
// afterwards (docs/proxy.md).
type Proxy struct {
	// Upstreams are the registries mirrored, each under its own prefix.
	Upstreams []Upstream `yaml:"upstreams"`
	// CredentialsKeyFile is the key that seals the upstream credentials
	// stored in the database (wharf mirror credentials). Empty: the data
	// directory's auth/upstream-credentials.key, created on first use;
	// replicas sharing a database must all name the same key here.
	CredentialsKeyFile string `yaml:"credentials_key_file"`
}

// Upstream is one registry mirrored.
type Upstream struct {
	// Name is what stored credentials (wharf mirror credentials) and
	// status call the upstream: default its prefix, "mirror" for the
	// mirror.
	Name string `yaml:"name"`
	// Prefix is the first component(s) of the local names served from this
	// upstream: "hub" serves HOST/hub/library/nginx from the upstream's
	// library/nginx. Empty (or Mirror) serves names without a prefix, as a
	// Docker daemon's registry-mirrors endpoint expects.
	Prefix string `yaml:"prefix"`
	// Mirror is an explicit spelling of an empty prefix.
	Mirror bool `yaml:"mirror"`
	// URL is the upstream's base URL (https://registry-1.docker.io).
	URL string `yaml:"url"`
	// Username and PasswordFile are the credentials sent to the upstream
	// (its token service or Basic). Password is distribution's inline
	// password (proxy.password); prefer PasswordFile.
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	// CAFile is a PEM bundle trusted for the upstream's HTTPS instead of
	// the system roots.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify accepts any certificate: for tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// TTL is how long a tag fetched from the upstream is served without
	// asking it again (default 5m); after it, a HEAD revalidates the tag.
	TTL Duration `yaml:"ttl"`
	// Timeout bounds the upstream's answer to one request (its headers;
	// a blob's body may take longer). Default 30s.
	Timeout Duration `yaml:"timeout"`
	// MaxSize caps what the cache keeps of this upstream (deduplicated):
	// each retention run untags the least recently pulled cached tags
	// until the rest fits; garbage collection then reclaims the blobs.
	MaxSize ByteSize `yaml:"max_size"`
	// EvictAfter untags, at each retention run, the cached tags neither
	// fetched nor pulled for this long.
	EvictAfter Duration `yaml:"evict_after"`
}

// Defaults of an upstream.
const (
	DefaultUpstreamTTL     = 5 * time.Minute
	DefaultUpstreamTimeout = 30 * time.Second
)

// WithDefaults returns u with every unset value at its default.
func (u Upstream) WithDefaults() Upstream {
	if u.TTL == 0 {
		u.TTL = Duration(DefaultUpstreamTTL)
	}
	if u.Timeout == 0 {
		u.Timeout = Duration(DefaultUpstreamTimeout)
	}
	u.Prefix = strings.Trim(u.Prefix, "/")
	if u.Prefix == "" {
		u.Mirror = true
	}
	if u.Name == "" {
		u.Name = u.Prefix
		if u.Mirror {
			u.Name = MirrorName
		}
	}
	return u
}

// MirrorName is the default name of the upstream without a prefix.
const MirrorName = "mirror"

func (p Proxy) validate() []error {
	var errs []error
	seen := map[string]string{}
	names := map[string]string{}
	for i, u := range p.Upstreams {
		key := fmt.Sprintf("proxy.upstreams[%d]", i)
		if u.Mirror && u.Prefix != "" {
			errs = append(errs, fmt.Errorf("%s: mirror: true serves names without a prefix, but prefix is %q; drop one of them", key, u.Prefix))
		}
		prefix := strings.Trim(u.Prefix, "/")
		for _, c := range strings.Split(prefix, "/") {
			if prefix != "" && !validNameComponent(c) {
				errs = append(errs, fmt.Errorf("%s.prefix: %q is not a repository name prefix (lowercase letters, digits and . _ - separated by /)", key, u.Prefix))
				break
			}
		}
		if other, ok := seen[prefix]; ok {
			what := "prefix " + prefix
			if prefix == "" {
				what = "the mirror (no prefix)"
			}
			errs = append(errs, fmt.Errorf("%s: %s is also %s's; each prefix names one upstream", key, what, other))
		}
		_, samePrefix := seen[prefix]
		seen[prefix] = key
		if n := u.WithDefaults().Name; u.Name != "" && !validUpstreamName(n) {
			errs = append(errs, fmt.Errorf("%s.name: %q is not an upstream name (lowercase letters, digits and . _ - separated by /)", key, n))
		} else if other, ok := names[n]; ok && !samePrefix {
			errs = append(errs, fmt.Errorf("%s: the name %q is also %s's (a name is the prefix, or \"mirror\" for the mirror, unless name is set); give one of them another name", key, n, other))
		} else {
			names[n] = key
		}
		if pu, err := url.Parse(u.URL); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("%s.url: %q is not an http:// or https:// URL (for example https://registry-1.docker.io)", key, redactURL(u.URL)))
		} else if pu.User != nil {
			errs = append(errs, fmt.Errorf("%s.url: credentials in the URL would be logged; use username and password_file", key))
		} else if strings.Trim(pu.Path, "/") != "" {
			errs = append(errs, fmt.Errorf("%s.url: %q has a path; give the registry's base URL (the /v2/ API is found under it)", key, redactURL(u.URL)))
		}
		if u.Password != "" && u.PasswordFile != "" {
			errs = append(errs, fmt.Errorf("%s: password and password_file are both set; keep password_file", key))
		}
		if (u.Password != "" || u.PasswordFile != "") && u.Username == "" {
			errs = append(errs, fmt.Errorf("%s.username: required with a password", key))
		}
		if u.TTL < 0 || u.Timeout < 0 || u.MaxSize < 0 || u.EvictAfter < 0 {
			errs = append(errs, fmt.Errorf("%s: ttl, timeout, max_size and evict_after must not be negative", key))
		}
	}
	return errs
}

// validUpstreamName is a name of the prefixes' grammar.
func validUpstreamName(n string) bool {
	for _, c := range strings.Split(n, "/") {
		if !validNameComponent(c) {
			return false
		}
	}
	return true
}

// validNameComponent is one component of a repository name, as the
// distribution spec's grammar allows.
func validNameComponent(c string) bool {
	if c == "" || len(c) > 255 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		alnum := b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
		if !alnum && b != '.' && b != '_' && b != '-' {
			return false
		}
		if !alnum && (i == 0 || i == len(c)-1) {
			return false
		}
	}
	return true
}
