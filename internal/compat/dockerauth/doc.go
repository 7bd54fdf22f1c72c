// Package dockerauth reads a cesanta/docker_auth auth_config.yml, unchanged,
// and translates it into wharf's own config.Config for `wharf auth`.
//
// It owns the table of docker_auth's keys: server, token and ldap_auth are
// translated (ldap_auth also takes wharf's group search, pool and timeout
// keys), and so are the browser sign-ins google_auth, github_auth,
// oidc_auth and gitlab_auth (their token_db and level_token_db are
// accepted, as wharf keeps sign-ins in its data directory; gcs_token_db,
// redis_token_db and token_store are "not supported"); users and acl are handed over as the YAML nodes they are, so that
// the authenticator and the ACL engine report problems with their line
// numbers; every other authentication or authorization backend
// (mongo_auth, ext_auth, …) is "not supported yet", an error naming its
// line. A key docker_auth does not know is an error too —
// docker_auth ignores it silently, which is how a misspelt acl grants or
// denies more than intended.
//
// Load reports every problem at once, logs what it accepts without effect
// at info and what needs the operator's eye (Warnings among them) at warn.
// It does not call config.Validate: the caller does.
//
// It imports config, the standard library and yaml.v3 only.
package dockerauth
