package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"wharf/internal/auth"
	"wharf/internal/auth/authn"
)

// TLS modes, docker_auth's names.
const (
	TLSNone     = "none"     // plain LDAP
	TLSAlways   = "always"   // LDAP over TLS (ldaps)
	TLSStartTLS = "starttls" // plain LDAP upgraded with StartTLS
)

// Config is what New needs; the composition root fills it from ldap_auth.
type Config struct {
	// Addr is the directory's host:port.
	Addr string
	// TLS is TLSNone, TLSAlways or TLSStartTLS.
	TLS string
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
	// CAPEM are the CA certificates trusted for the server's certificate;
	// empty means the system's roots.
	CAPEM []byte
	// BindDN and BindPassword are the service account that searches; an
	// empty BindDN searches anonymously. With InitialBindAsUser, BindDN is
	// the template of the user's DN, with ${account}, and BindPassword is
	// unused.
	BindDN            string
	BindPassword      auth.Secret
	InitialBindAsUser bool
	// Base and Filter find the user (Filter with ${account}).
	Base, Filter string
	// Labels are label name → the user attribute they come from.
	Labels map[string]Label
	// GroupBase, when set, searches the user's groups with GroupFilter
	// (${dn}, ${account}); the GroupAttribute values of the groups found
	// become the label GroupLabel.
	GroupBase, GroupFilter, GroupAttribute, GroupLabel string
	GroupLowerCase                                     bool
	// PoolSize is the most connections open at once (at least 1).
	PoolSize int
	// Timeout bounds dialling, the TLS handshake and each operation.
	Timeout time.Duration
	// Log hears about directory failures; nil discards.
	Log *slog.Logger
}

// Label is where a label's values come from, as docker_auth's labels.
type Label struct {
	Attribute string
	ParseCN   bool // take the first CN of a DN value
	LowerCase bool
}

// maxGroups bounds the groups of one user; more is an error rather than a
// silently truncated (and so, for deny rules, wrong) label.
const maxGroups = 1000

// Authenticator checks passwords by binding to an LDAP directory.
type Authenticator struct {
	cfg        Config
	tls        *tls.Config
	assertions []accountAssertion
	attrs      []string // asked for in the user search
	// unknown is the answer for a name the directory does not hold:
	// NoMatch, or WrongPassword with initial_bind_as_user, where an unknown
	// name is a refused bind, as in docker_auth.
	unknown authn.Result
	pool    *pool
	log     *slog.Logger
}

var _ authn.Confirmer = (*Authenticator)(nil)

// New checks cfg and returns an authenticator. It does not contact the
// directory: a directory that is down at start fails logins (with an error
// and a log line) until it is back.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("ldap: addr %q is not host:port", cfg.Addr)
	}
	switch cfg.TLS {
	case TLSNone, TLSAlways, TLSStartTLS:
	default:
		return nil, fmt.Errorf("ldap: tls %q is not one of none, always, starttls", cfg.TLS)
	}
	if cfg.PoolSize < 1 {
		return nil, fmt.Errorf("ldap: pool size %d must be at least 1", cfg.PoolSize)
	}
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("ldap: timeout %v must be positive", cfg.Timeout)
	}
	if cfg.Base == "" {
		return nil, errors.New("ldap: base: required")
	}
	if _, err := ldap.ParseDN(cfg.Base); err != nil {
		return nil, fmt.Errorf("ldap: base %q: %w", cfg.Base, err)
	}
	a := &Authenticator{cfg: cfg, unknown: authn.NoMatch,
		log: cfg.Log.With("component", "authn", "backend", "ldap", "addr", cfg.Addr)}
	if a.assertions, err = parseUserFilter(cfg.Filter); err != nil {
		return nil, fmt.Errorf("ldap: filter: %w", err)
	}
	switch {
	case cfg.InitialBindAsUser:
		if !strings.Contains(cfg.BindDN, accountVar) {
			return nil, errors.New("ldap: bind_dn: with initial_bind_as_user it must contain ${account}")
		}
		if _, err := ldap.ParseDN(bindDN(cfg.BindDN, "x")); err != nil {
			return nil, fmt.Errorf("ldap: bind_dn %q: %w", cfg.BindDN, err)
		}
		a.unknown = authn.WrongPassword
	case cfg.BindDN != "":
		if _, err := ldap.ParseDN(cfg.BindDN); err != nil {
			return nil, fmt.Errorf("ldap: bind_dn %q: %w", cfg.BindDN, err)
		}
		if cfg.BindPassword == "" {
			return nil, errors.New("ldap: bind_dn needs a password (an empty one would be an anonymous bind)")
		}
	}
	for name, l := range cfg.Labels {
		if l.Attribute == "" {
			return nil, fmt.Errorf("ldap: label %q: no attribute", name)
		}
		a.attrs = appendFold(a.attrs, l.Attribute)
	}
	for _, as := range a.assertions {
		a.attrs = appendFold(a.attrs, as.attr)
	}
	for _, attr := range lockAttributes {
		a.attrs = appendFold(a.attrs, attr)
	}
	slices.Sort(a.attrs)
	if cfg.GroupBase != "" {
		if _, err := ldap.ParseDN(cfg.GroupBase); err != nil {
			return nil, fmt.Errorf("ldap: group_base %q: %w", cfg.GroupBase, err)
		}
		if cfg.GroupAttribute == "" || cfg.GroupLabel == "" {
			return nil, errors.New("ldap: group search needs a group attribute and a label name")
		}
		if !strings.Contains(cfg.GroupFilter, dnVar) && !strings.Contains(cfg.GroupFilter, accountVar) {
			return nil, fmt.Errorf("ldap: group_filter %q: it contains neither ${dn} nor ${account}", cfg.GroupFilter)
		}
		if err := checkFilter(cfg.GroupFilter); err != nil {
			return nil, fmt.Errorf("ldap: group_filter: %w", err)
		}
	}
	a.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if len(cfg.CAPEM) > 0 {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(cfg.CAPEM) {
			return nil, errors.New("ldap: ca_certificate: no PEM certificate found")
		}
		a.tls.RootCAs = roots
	}
	a.pool = newPool(cfg.PoolSize, a.dial)
	return a, nil
}

func appendFold(list []string, s string) []string {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return list
		}
	}
	return append(list, s)
}

// Name implements authn.Authenticator.
func (a *Authenticator) Name() string { return "ldap" }

// Close closes the pooled connections.
func (a *Authenticator) Close() error {
	a.pool.close()
	return nil
}

// dial opens a connection with the configured TLS, bounded by the timeout.
func (a *Authenticator) dial(ctx context.Context) (*ldap.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	scheme := "ldap://"
	if a.cfg.TLS == TLSAlways {
		scheme = "ldaps://"
	}
	l, err := ldap.DialURL(scheme+a.cfg.Addr,
		ldap.DialWithDialer(&net.Dialer{Timeout: a.cfg.Timeout}),
		ldap.DialWithTLSConfig(a.tls.Clone()))
	if err != nil {
		return nil, fmt.Errorf("ldap: connecting to %s: %w", a.cfg.Addr, err)
	}
	l.SetTimeout(a.cfg.Timeout)
	if a.cfg.TLS == TLSStartTLS {
		// StartTLS's handshake has no deadline of its own: closing the
		// connection when ctx ends interrupts it.
		stop := context.AfterFunc(ctx, func() { l.Close() })
		err := l.StartTLS(a.tls.Clone())
		if !stop() && err == nil {
			err = ctx.Err()
		}
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("ldap: StartTLS with %s: %w", a.cfg.Addr, err)
		}
	}
	return l, nil
}

// outcome is what one attempt decided.
type outcome struct {
	res    authn.Result
	labels auth.Labels
}

// Authenticate implements authn.Authenticator. The anonymous user is never
// the directory's (NoMatch); an empty password is never sent in a bind.
func (a *Authenticator) Authenticate(ctx context.Context, user string, password auth.Secret) (authn.Result, auth.Labels, error) {
	if user == "" {
		return authn.NoMatch, nil, nil
	}
	if !plausibleName(user) {
		return a.unknown, nil, nil
	}
	if a.cfg.InitialBindAsUser && password == "" {
		return authn.WrongPassword, nil, nil
	}
	var out outcome
	err := a.withConn(ctx, func(c *conn) (err error) {
		out, err = a.attempt(c, user, password)
		return err
	})
	if err != nil {
		return authn.WrongPassword, nil, err // the chain logs it and denies
	}
	return out.res, out.labels, nil
}

// withConn runs fn on a pooled connection, bounded by ctx. When fn breaks a
// connection that had been idle in the pool (the directory restarted, a
// firewall dropped it), fn runs once more on a new one.
func (a *Authenticator) withConn(ctx context.Context, fn func(*conn) error) error {
	for attempt := 0; ; attempt++ {
		c, err := a.pool.get(ctx)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { c.l.Close() })
		err = fn(c)
		if !stop() {
			c.broken = true
			if err == nil {
				err = ctx.Err() // too late: the connection closed under fn
			}
		}
		if c.l.IsClosing() {
			c.broken = true
		}
		a.pool.put(c)
		if err != nil && c.broken && c.reused && attempt == 0 && ctx.Err() == nil {
			a.log.DebugContext(ctx, "pooled LDAP connection failed; retrying on a new one", "err", err)
			continue
		}
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("ldap: %w (%v)", ctx.Err(), err)
		}
		return err
	}
}

// attempt is one authentication on c. Its error means the directory could
// not decide.
func (a *Authenticator) attempt(c *conn, user string, password auth.Secret) (outcome, error) {
	deny := outcome{res: authn.WrongPassword}
	if a.cfg.InitialBindAsUser {
		dn := bindDN(a.cfg.BindDN, user)
		if err := c.bind(dn, password.Reveal()); err != nil {
			if refused(err) {
				return deny, nil
			}
			return deny, fmt.Errorf("ldap: initial bind as the user: %w", err)
		}
	} else if err := a.bindService(c); err != nil {
		return deny, err
	}
	entry, err := a.findUser(c, user)
	if err != nil || entry == nil {
		return outcome{res: authn.NoMatch}, err
	}
	if !holdsAccount(entry, a.assertions, user) {
		// Found only by the directory's loose matching ("Alice" for alice).
		return outcome{res: a.unknown}, nil
	}
	if password == "" {
		return deny, nil
	}
	if err := c.bind(entry.DN, password.Reveal()); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return deny, nil
		}
		return deny, fmt.Errorf("ldap: bind as %q: %w", entry.DN, err)
	}
	if a.cfg.GroupBase != "" && !a.cfg.InitialBindAsUser {
		// Back to the service account: it may read groups the user may
		// not, and the connection returns to the pool as it.
		if err := a.bindService(c); err != nil {
			return deny, err
		}
	}
	labels, err := a.labels(c, entry, user)
	if err != nil {
		return deny, err
	}
	return outcome{res: authn.Accepted, labels: labels}, nil
}

// labels are the user's labels: from the entry's attributes and, with a
// group search, its groups (searched as whoever c is bound as).
func (a *Authenticator) labels(c *conn, entry *ldap.Entry, user string) (auth.Labels, error) {
	labels := attributeLabels(entry, a.cfg.Labels)
	if a.cfg.GroupBase != "" {
		groups, err := a.findGroups(c, entry.DN, user)
		if err != nil {
			return nil, err
		}
		if len(groups) > 0 {
			labels[a.cfg.GroupLabel] = dedupe(append(labels[a.cfg.GroupLabel], groups...))
		}
	}
	if len(labels) == 0 {
		return nil, nil
	}
	return labels, nil
}

// refused reports a bind refused for the name or password given: wrong
// password, no such entry, or a name that is not a valid DN once in place.
func refused(err error) bool {
	return ldap.IsErrorAnyOf(err, ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultNoSuchObject)
}

// bindService makes c search as the service account, or anonymously.
func (a *Authenticator) bindService(c *conn) error {
	if c.bound == a.cfg.BindDN {
		return nil
	}
	if a.cfg.BindDN == "" {
		if err := c.unbindToAnonymous(); err != nil {
			return fmt.Errorf("ldap: anonymous bind: %w", err)
		}
		return nil
	}
	if err := c.bind(a.cfg.BindDN, a.cfg.BindPassword.Reveal()); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return fmt.Errorf("ldap: the directory refused bind_dn %q: check bind_dn and bind_password_file: %w", a.cfg.BindDN, err)
		}
		return fmt.Errorf("ldap: bind as bind_dn %q: %w", a.cfg.BindDN, err)
	}
	return nil
}

// findUser returns the one entry the filter finds for user, nil when there
// is none.
func (a *Authenticator) findUser(c *conn, user string) (*ldap.Entry, error) {
	filter := userFilter(a.cfg.Filter, user)
	res, err := c.search(ldap.NewSearchRequest(a.cfg.Base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, a.timeLimit(), false, filter, a.attrs, nil))
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, fmt.Errorf("ldap: filter %s finds more than one entry under %q; it must find one", filter, a.cfg.Base)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, fmt.Errorf("ldap: base %q does not exist: %w", a.cfg.Base, err)
	case err != nil:
		return nil, fmt.Errorf("ldap: searching %q: %w", a.cfg.Base, err)
	case len(res.Entries) == 0:
		return nil, nil
	case len(res.Entries) > 1:
		return nil, fmt.Errorf("ldap: filter %s finds %d entries under %q; it must find one", filter, len(res.Entries), a.cfg.Base)
	}
	return res.Entries[0], nil
}

// findGroups returns the sorted names of the groups of the user at dn.
func (a *Authenticator) findGroups(c *conn, dn, user string) ([]string, error) {
	filter := groupFilter(a.cfg.GroupFilter, dn, user)
	res, err := c.search(ldap.NewSearchRequest(a.cfg.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		maxGroups, a.timeLimit(), false, filter, []string{a.cfg.GroupAttribute}, nil))
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, fmt.Errorf("ldap: group search %s finds more than %d groups", filter, maxGroups)
	case err != nil:
		return nil, fmt.Errorf("ldap: searching groups under %q: %w", a.cfg.GroupBase, err)
	}
	var names []string
	for _, e := range res.Entries {
		for _, v := range e.GetEqualFoldAttributeValues(a.cfg.GroupAttribute) {
			if a.cfg.GroupLowerCase {
				v = strings.ToLower(v)
			}
			names = append(names, v)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// timeLimit is the server-side limit of a search, in whole seconds.
func (a *Authenticator) timeLimit() int {
	return int(math.Ceil(a.cfg.Timeout.Seconds()))
}

// attributeLabels builds labels from the entry's attributes, as docker_auth
// does: a label whose attribute the entry lacks is left out.
func attributeLabels(entry *ldap.Entry, specs map[string]Label) auth.Labels {
	labels := auth.Labels{}
	for name, spec := range specs {
		values := entry.GetEqualFoldAttributeValues(spec.Attribute)
		if len(values) == 0 {
			continue
		}
		out := make([]string, 0, len(values))
		for _, v := range values {
			if spec.ParseCN {
				v = firstCN(v)
			}
			if spec.LowerCase {
				v = strings.ToLower(v)
			}
			out = append(out, v)
		}
		labels[name] = out
	}
	return labels
}

// firstCN is the value of the first CN in dn, or dn itself when it is not
// a DN with a CN.
func firstCN(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return dn
	}
	for _, rdn := range parsed.RDNs {
		for _, at := range rdn.Attributes {
			if strings.EqualFold(at.Type, "cn") {
				return at.Value
			}
		}
	}
	return dn
}

// dedupe drops repeated values, keeping the first of each.
func dedupe(values []string) []string {
	seen := make(map[string]bool, len(values))
	out := values[:0]
	for _, v := range values {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
