package config

import (
	"fmt"
	"runtime"
	"time"
)

// Limits bound what one client can make the server do: how many password
// checks, external authorizer calls and uploads run at once, how long a
// request body may take to arrive, and how long a list may be. Zero values
// take the defaults, which suit one machine; docs/security.md lists them.
type Limits struct {
	// ListPage is the most entries in one page of GET /v2/<name>/tags/list
	// and GET /v2/_catalog (0: 1000). A request without n gets this many,
	// a larger n is lowered to it; the Link header leads to the rest.
	ListPage int `yaml:"list_page"`
	// ReferrersPage is the most descriptors in one page of GET
	// /v2/<name>/referrers/<digest> (0: 500); a page also stops before
	// 4 MiB. The Link header leads to the rest.
	ReferrersPage int `yaml:"referrers_page"`

	// Logins and token requests (WithDefaults fills these in).

	// PasswordChecks is how many bcrypt comparisons run at once in the
	// process, over every endpoint and backend (default: GOMAXPROCS, the
	// CPUs Go uses; bcrypt keeps one busy). Logins answered from the login
	// cache take none.
	PasswordChecks int `yaml:"password_checks"`
	// PasswordCheckWait is how long a login waits for a free password
	// check before it is answered 503 with Retry-After (default 1s, at
	// most 1m).
	PasswordCheckWait Duration `yaml:"password_check_wait"`
	// ExternalCalls is how many ext_auth and ext_authz programs and
	// webhook_auth and webhook_authz calls run at once (default 2 ×
	// GOMAXPROCS). One token request asks its scopes one after another, so
	// it holds at most one.
	ExternalCalls int `yaml:"external_calls"`
	// ExternalCallWait is how long a login or scope waits for a free
	// external call before the request is answered 503 with Retry-After
	// (default 10s, at most 1m).
	ExternalCallWait Duration `yaml:"external_call_wait"`
	// AnonymousScopes is how many scopes a token request without
	// credentials may ask for (default 8, at most 64, the cap of every
	// request): docker asks for one or two.
	AnonymousScopes int `yaml:"anonymous_scopes"`
	// AnonymousTokenBurst and AnonymousTokenRate are the token bucket of
	// token requests without credentials, per client address: that many
	// at once, then that many a second (default 100, then 20 a second).
	AnonymousTokenBurst int     `yaml:"anonymous_token_burst"`
	AnonymousTokenRate  float64 `yaml:"anonymous_token_rate"`

	// Request bodies and uploads (the accessors below give the defaults).

	// BodyTimeout bounds how long the body of a request to the token
	// endpoint, the admin API or a browser sign-in page may take to
	// arrive, counted from the end of its headers (which must arrive
	// within 20 s). Those bodies are at most 64 KiB: a client that has
	// not sent one in this time is stalling, and holds a connection for
	// nothing.
	BodyTimeout Duration `yaml:"body_timeout"`
	// UploadIdleTimeout ends an upload request (a blob PATCH, PUT or POST
	// with a body, or a manifest PUT) that sends no byte for this long.
	// The bytes of a PATCH or PUT received until then stay in the upload
	// session, which the client resumes from there.
	UploadIdleTimeout Duration `yaml:"upload_idle_timeout"`
	// Uploads caps the upload requests moving bytes at once, over all
	// clients; each holds up to 3 MiB of copy buffers. One more is
	// answered 429 TOOMANYREQUESTS with Retry-After.
	Uploads int `yaml:"uploads"`
	// UploadsPerClient caps them per account, or per address for clients
	// without one, so that one client cannot take every slot.
	UploadsPerClient int `yaml:"uploads_per_client"`
}

// Defaults of the login and token request limits.
const (
	DefaultPasswordCheckWait   = time.Second
	DefaultExternalCallWait    = 10 * time.Second
	DefaultAnonymousScopes     = 8
	DefaultAnonymousTokenBurst = 100
	DefaultAnonymousTokenRate  = 20
	// MaxLimitWait bounds password_check_wait and external_call_wait: a
	// client waiting longer has given up.
	MaxLimitWait = time.Minute
	// MaxScopes is the scope cap of every token request.
	MaxScopes = 64
)

// WithDefaults returns l with every zero login and token request limit
// replaced by its default: the values every command (serve, registry,
// auth) runs with.
func (l Limits) WithDefaults() Limits {
	cpus := runtime.GOMAXPROCS(0)
	setInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setInt(&l.PasswordChecks, cpus)
	setInt(&l.ExternalCalls, 2*cpus)
	setInt(&l.AnonymousScopes, DefaultAnonymousScopes)
	setInt(&l.AnonymousTokenBurst, DefaultAnonymousTokenBurst)
	if l.PasswordCheckWait == 0 {
		l.PasswordCheckWait = Duration(DefaultPasswordCheckWait)
	}
	if l.ExternalCallWait == 0 {
		l.ExternalCallWait = Duration(DefaultExternalCallWait)
	}
	if l.AnonymousTokenRate == 0 {
		l.AnonymousTokenRate = DefaultAnonymousTokenRate
	}
	return l
}

// AnonymousTokenEvery is the refill interval of the anonymous token
// request bucket: one token every 1/AnonymousTokenRate seconds.
func (l Limits) AnonymousTokenEvery() time.Duration {
	return time.Duration(float64(time.Second) / l.WithDefaults().AnonymousTokenRate)
}

// validate reports the login and token request limits that are out of
// range.
func (l Limits) validate() []error {
	var errs []error
	for _, v := range []struct {
		key string
		n   int
	}{
		{"limits.password_checks", l.PasswordChecks},
		{"limits.external_calls", l.ExternalCalls},
		{"limits.anonymous_scopes", l.AnonymousScopes},
		{"limits.anonymous_token_burst", l.AnonymousTokenBurst},
	} {
		if v.n < 0 {
			errs = append(errs, fmt.Errorf("%s: %d is negative (0 takes the default)", v.key, v.n))
		}
	}
	if l.AnonymousScopes > MaxScopes {
		errs = append(errs, fmt.Errorf("limits.anonymous_scopes: %d is above %d, the cap of every token request", l.AnonymousScopes, MaxScopes))
	}
	// Below one a day, the refill interval would not fit a time.Duration
	// for long; and it is more likely a mistake than a wish.
	if r := l.AnonymousTokenRate; r < 0 || (r > 0 && r < 1.0/86400) {
		errs = append(errs, fmt.Errorf("limits.anonymous_token_rate: %g is not a rate of requests per second of at least 1/86400 (one a day), for example 20 or 0.5; 0 takes the default", r))
	}
	for _, w := range []struct {
		key string
		d   Duration
	}{
		{"limits.password_check_wait", l.PasswordCheckWait},
		{"limits.external_call_wait", l.ExternalCallWait},
	} {
		if w.d < 0 || w.d.Std() > MaxLimitWait {
			errs = append(errs, fmt.Errorf("%s: %s is not between 0 (the default) and %s", w.key, w.d.Std(), MaxLimitWait))
		}
	}
	return errs
}

// maxPageLimit bounds the list limits: a page of 100,000 entries is already
// megabytes of JSON built in memory for one request.
const maxPageLimit = 100_000

// validateLists reports the list limits' problems.
func (l Limits) validateLists() []error {
	var errs []error
	for _, f := range []struct {
		key string
		v   int
	}{{"limits.list_page", l.ListPage}, {"limits.referrers_page", l.ReferrersPage}} {
		if f.v < 0 || f.v > maxPageLimit {
			errs = append(errs, fmt.Errorf("%s: %d is out of range; give 1 to %d entries per page, or 0 for the default", f.key, f.v, maxPageLimit))
		}
	}
	return errs
}

// Defaults of the request-body and upload limits.
const (
	DefaultBodyTimeout       = 30 * time.Second
	DefaultUploadIdleTimeout = 60 * time.Second
	// DefaultUploads keeps the copy buffers of uploads under 768 MiB in
	// the worst case (every upload moving bytes); an upload that stalls
	// holds 1 MiB.
	DefaultUploads          = 256
	DefaultUploadsPerClient = 32
)

// BodyTimeoutOrDefault is BodyTimeout, or its default when unset.
func (l Limits) BodyTimeoutOrDefault() time.Duration {
	return limitOr(l.BodyTimeout.Std(), DefaultBodyTimeout)
}

// UploadIdleTimeoutOrDefault is UploadIdleTimeout, or its default when
// unset.
func (l Limits) UploadIdleTimeoutOrDefault() time.Duration {
	return limitOr(l.UploadIdleTimeout.Std(), DefaultUploadIdleTimeout)
}

// UploadsOrDefault is Uploads, or its default when unset.
func (l Limits) UploadsOrDefault() int { return limitOr(l.Uploads, DefaultUploads) }

// UploadsPerClientOrDefault is UploadsPerClient, or its default when unset.
func (l Limits) UploadsPerClientOrDefault() int {
	return limitOr(l.UploadsPerClient, DefaultUploadsPerClient)
}

// limitOr is v, or def when v is zero (unset).
func limitOr[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// validateUploads reports negative request-body and upload limits.
func (l Limits) validateUploads() []error {
	var errs []error
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"body_timeout", l.BodyTimeout.Std()}, {"upload_idle_timeout", l.UploadIdleTimeout.Std()}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("limits.%s: %s is negative; give a duration such as \"30s\", or 0 for the default", d.key, d.v))
		} else if d.v > 0 && d.v < time.Second {
			errs = append(errs, fmt.Errorf("limits.%s: %s is under a second, which slow but honest clients cannot meet; give at least \"1s\"", d.key, d.v))
		}
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"uploads", l.Uploads}, {"uploads_per_client", l.UploadsPerClient}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("limits.%s: %d is negative; give a count, or 0 for the default", n.key, n.v))
		}
	}
	return errs
}
