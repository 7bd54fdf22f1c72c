package config

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// LDAP configures authentication against an LDAP directory, in
// docker_auth's ldap_auth shape plus a group search.
//
// A login searches Base with Filter (${account} replaced by the escaped
// user name), then binds as the entry found with the user's password.
// Labels come from the entry's attributes (Labels) and from the groups a
// second search finds (GroupBase, GroupFilter).
type LDAP struct {
	// Addr is the directory's host:port, e.g. ldap.example.com:636.
	Addr string `yaml:"addr"`
	// TLS is "none" (or empty: plain LDAP, unless the port is 636),
	// "always" (LDAP over TLS, ldaps) or "starttls".
	TLS string `yaml:"tls"`
	// InsecureTLSSkipVerify accepts any server certificate. For tests only.
	InsecureTLSSkipVerify bool `yaml:"insecure_tls_skip_verify"`
	// CACertificate is a PEM file of the CAs trusted to sign the server's
	// certificate; empty means the system's roots.
	CACertificate string `yaml:"ca_certificate"`
	// BindDN and BindPasswordFile are the service account that searches
	// (empty: search anonymously). The file is read at start; surrounding
	// white space is trimmed.
	BindDN           string `yaml:"bind_dn"`
	BindPasswordFile string `yaml:"bind_password_file"`
	// InitialBindAsUser binds with the user's own name and password
	// first, BindDN being a template with ${account} (e.g.
	// "uid=${account},ou=people,dc=example,dc=org"), and searches as the
	// user.
	InitialBindAsUser bool `yaml:"initial_bind_as_user"`
	// Base is where users are searched (the whole subtree).
	Base string `yaml:"base"`
	// Filter finds the user; ${account} is replaced by the user name,
	// escaped. For example (&(uid=${account})(objectClass=person)).
	Filter string `yaml:"filter"`
	// Labels maps a label name to the user attribute its values come from.
	Labels map[string]LDAPLabel `yaml:"labels"`

	// GroupBase, when set, turns on the group search: the groups under it
	// matching GroupFilter give their GroupAttribute values as the label
	// GroupLabel.
	GroupBase string `yaml:"group_base"`
	// GroupFilter finds the user's groups; ${dn} is the user's DN and
	// ${account} the user name, both escaped. Default:
	// (|(member=${dn})(uniqueMember=${dn})(memberUid=${account})).
	GroupFilter string `yaml:"group_filter"`
	// GroupAttribute is the group attribute that names it (default cn).
	GroupAttribute string `yaml:"group_attribute"`
	// GroupLabel is the label the group names go to (default groups).
	GroupLabel string `yaml:"group_label"`
	// GroupLowerCase lower-cases the group names.
	GroupLowerCase bool `yaml:"group_lower_case"`

	// PoolSize is the most connections kept open to the directory
	// (default 4).
	PoolSize int `yaml:"pool_size"`
	// Timeout bounds each directory operation: connecting, the TLS
	// handshake, a bind, a search (default 10s).
	Timeout Duration `yaml:"timeout"`
}

// LDAPLabel is where one label's values come from.
type LDAPLabel struct {
	// Attribute is the user attribute, e.g. memberOf.
	Attribute string `yaml:"attribute"`
	// ParseCN takes the first CN of each value, a DN (memberOf's
	// cn=admins,ou=groups,… gives admins); a value that is not a DN with a
	// CN is kept whole.
	ParseCN bool `yaml:"parse_cn"`
	// LowerCase lower-cases the values.
	LowerCase bool `yaml:"lower_case"`
}

// LDAP defaults.
const (
	DefaultLDAPGroupFilter    = "(|(member=${dn})(uniqueMember=${dn})(memberUid=${account}))"
	DefaultLDAPGroupAttribute = "cn"
	DefaultLDAPGroupLabel     = "groups"
	DefaultLDAPPoolSize       = 4
	DefaultLDAPTimeout        = Duration(10e9) // 10s
	maxLDAPPoolSize           = 256
)

// WithDefaults returns l with its empty settings at their defaults: the
// TLS mode docker_auth picks (always on port 636, none elsewhere), the
// group filter, attribute and label, the pool size and the timeout.
func (l LDAP) WithDefaults() LDAP {
	if l.TLS == "" {
		l.TLS = "none"
		if _, port, err := net.SplitHostPort(l.Addr); err == nil && port == "636" {
			l.TLS = "always"
		}
	}
	if l.GroupBase != "" {
		if l.GroupFilter == "" {
			l.GroupFilter = DefaultLDAPGroupFilter
		}
		if l.GroupAttribute == "" {
			l.GroupAttribute = DefaultLDAPGroupAttribute
		}
		if l.GroupLabel == "" {
			l.GroupLabel = DefaultLDAPGroupLabel
		}
	}
	if l.PoolSize == 0 {
		l.PoolSize = DefaultLDAPPoolSize
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultLDAPTimeout
	}
	return l
}

// validate reports every problem of the section, each with its key under
// prefix ("ldap_auth").
func (l LDAP) validate(prefix string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: "+format, append([]any{prefix, key}, args...)...))
	}
	switch host, port, err := net.SplitHostPort(l.Addr); {
	case l.Addr == "":
		bad("addr", "required: the directory's host:port (for example ldap.example.com:636)")
	case strings.Contains(l.Addr, "://"):
		bad("addr", "%q: give host:port without a scheme; use tls: always for ldaps", l.Addr)
	case err != nil || host == "":
		bad("addr", "%q is not host:port (for example ldap.example.com:389)", l.Addr)
	default:
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			bad("addr", "%q: the port must be a number from 1 to 65535", l.Addr)
		}
	}
	switch l.TLS {
	case "", "none", "always", "starttls":
	default:
		bad("tls", "%q is not one of none, always, starttls", l.TLS)
	}
	if l.InsecureTLSSkipVerify && l.CACertificate != "" {
		bad("insecure_tls_skip_verify", "and ca_certificate contradict each other: keep ca_certificate to verify the server")
	}
	if l.Base == "" {
		bad("base", "required: the DN users are searched under (for example ou=people,dc=example,dc=org)")
	}
	switch {
	case l.Filter == "":
		bad("filter", "required: how to find the user, with ${account} (for example (&(uid=${account})(objectClass=person)))")
	case !strings.Contains(l.Filter, "${account}"):
		bad("filter", "%q does not contain ${account}, so it would find the same entry for every user", l.Filter)
	case !balanced(l.Filter):
		bad("filter", "%q: parentheses do not balance", l.Filter)
	}
	switch {
	case l.InitialBindAsUser && !strings.Contains(l.BindDN, "${account}"):
		bad("bind_dn", "with initial_bind_as_user it is the user's DN with ${account} (for example uid=${account},ou=people,dc=example,dc=org)")
	case !l.InitialBindAsUser && strings.Contains(l.BindDN, "${account}"):
		bad("bind_dn", "${account} is only replaced with initial_bind_as_user: true")
	case !l.InitialBindAsUser && l.BindDN != "" && l.BindPasswordFile == "":
		bad("bind_password_file", "required with bind_dn: the file holding the service account's password")
	}
	for _, name := range sortedLabelNames(l.Labels) {
		switch {
		case name == "":
			bad("labels", "a label needs a name")
		case l.Labels[name].Attribute == "":
			bad("labels."+name+".attribute", "required: the user attribute the label's values come from")
		}
	}
	if l.GroupBase == "" {
		for _, kv := range []struct {
			key string
			set bool
		}{{"group_filter", l.GroupFilter != ""}, {"group_attribute", l.GroupAttribute != ""},
			{"group_label", l.GroupLabel != ""}, {"group_lower_case", l.GroupLowerCase}} {
			if kv.set {
				bad(kv.key, "needs group_base, where the groups are searched")
			}
		}
	} else if f := l.GroupFilter; f != "" {
		switch {
		case !strings.Contains(f, "${dn}") && !strings.Contains(f, "${account}"):
			bad("group_filter", "%q contains neither ${dn} nor ${account}, so every user would get the same groups", f)
		case !balanced(f):
			bad("group_filter", "%q: parentheses do not balance", f)
		}
	}
	if l.PoolSize < 0 || l.PoolSize > maxLDAPPoolSize {
		bad("pool_size", "%d is not from 1 to %d (0 means %d)", l.PoolSize, maxLDAPPoolSize, DefaultLDAPPoolSize)
	}
	if l.Timeout < 0 {
		bad("timeout", "must be positive (for example \"10s\")")
	}
	return errs
}

// balanced is a first check of a filter's parentheses; the directory
// backend compiles the filter at start for the rest.
func balanced(f string) bool {
	depth := 0
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '(':
			depth++
		case ')':
			if depth--; depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

func sortedLabelNames(m map[string]LDAPLabel) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// errLDAPWithoutToken is reported when ldap_auth is set but no token
// server would use it.
var errLDAPWithoutToken = errors.New("ldap_auth: authenticates token requests; it needs auth: token (wharf serve or wharf auth)")
