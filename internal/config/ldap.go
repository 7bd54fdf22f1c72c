package config

// LDAP configures authentication against an LDAP directory, in
// docker_auth's ldap_auth shape plus a group search.
type LDAP struct{}
