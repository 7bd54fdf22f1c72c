package dockerauth

import (
	"gopkg.in/yaml.v3"

	"wharf/internal/config"
	"wharf/internal/yamlnode"
)

// ldapKeys are docker_auth's ldap_auth keys, then wharf's additions (the
// group search, the pool and the timeout), which docker_auth would ignore.
var ldapKeys = []string{
	"addr", "tls", "insecure_tls_skip_verify", "ca_certificate", "bind_dn", "bind_password_file",
	"initial_bind_as_user", "base", "filter", "labels",
	"group_base", "group_filter", "group_attribute", "group_label", "group_lower_case", "pool_size", "timeout",
}

// ldapLabelKeys are the keys of one entry of ldap_auth.labels.
var ldapLabelKeys = []string{"attribute", "parse_cn", "lower_case"}

// ldap translates ldap_auth. Values are checked by config.Validate (the
// caller runs it); here every key is known and of the right kind.
func (l *loader) ldap(top *section, c *config.Config) {
	if yamlnode.IsNull(yamlnode.Resolve(top.vals["ldap_auth"])) {
		return
	}
	s := l.section(top.keys["ldap_auth"], top.vals["ldap_auth"], "ldap_auth", append(ldapKeys, "method")...)
	if s.set("method") {
		// Older docker_auth read `method`; today's ignores it, so the
		// connection would silently be plain LDAP.
		l.errorf(s.where("method"), "%w ldap_auth.method: docker_auth replaced it with tls (plain → none, simple_tls → always, starttls → starttls)", ErrUnknownKey)
	}
	ld := &config.LDAP{
		Addr:                  s.str("addr"),
		TLS:                   s.str("tls"),
		InsecureTLSSkipVerify: s.boolean("insecure_tls_skip_verify"),
		CACertificate:         s.str("ca_certificate"),
		BindDN:                s.str("bind_dn"),
		BindPasswordFile:      s.str("bind_password_file"),
		InitialBindAsUser:     s.boolean("initial_bind_as_user"),
		Base:                  s.str("base"),
		Filter:                s.str("filter"),
		GroupBase:             s.str("group_base"),
		GroupFilter:           s.str("group_filter"),
		GroupAttribute:        s.str("group_attribute"),
		GroupLabel:            s.str("group_label"),
		GroupLowerCase:        s.boolean("group_lower_case"),
	}
	if n, ok := s.integer("pool_size"); ok {
		ld.PoolSize = int(n)
	}
	if v := s.value("timeout"); v != nil {
		if err := v.Decode(&ld.Timeout); err != nil {
			l.errorf(v, "ldap_auth.timeout: %s", decodeMessage(err))
		}
	}
	if labels := s.value("labels"); labels != nil {
		if labels.Kind != yaml.MappingNode {
			l.errorf(labels, "ldap_auth.labels: must be a mapping of label name to {attribute, parse_cn, lower_case}, not %s", yamlnode.Describe(labels))
		} else {
			ld.Labels = map[string]config.LDAPLabel{}
			for i := 0; i+1 < len(labels.Content); i += 2 {
				k, v := labels.Content[i], labels.Content[i+1]
				name := "ldap_auth.labels." + k.Value
				if _, dup := ld.Labels[k.Value]; dup {
					l.errorf(k, "%s: repeated", name)
					continue
				}
				ls := l.section(k, v, name, ldapLabelKeys...)
				ld.Labels[k.Value] = config.LDAPLabel{Attribute: ls.str("attribute"), ParseCN: ls.boolean("parse_cn"), LowerCase: ls.boolean("lower_case")}
			}
		}
	}
	c.LDAP = ld
}
