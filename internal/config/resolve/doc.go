// Package resolve is the one place a command's configuration comes from.
// It merges, for the role the command plays, the built-in defaults, the
// configuration file, the environment and the command's flags, and
// validates the result once:
//
//	wharf serve, user, team, acl, token, session, doctor, health:
//	    defaults < wharf.yml (--config, WHARF_CONFIG) < WHARF_* < flags
//	wharf registry:
//	    distribution's config.yml (--config, WHARF_CONFIG; else the
//	    registry:2 image's) < REGISTRY_* < --data, --addr
//	wharf auth:
//	    docker_auth's auth_config.yml (--config, WHARF_CONFIG) < --data, --addr
//
// The users: and acl: of the file are parsed while it is read (config
// embeds auth/authn/static's and auth/authz's types), so a typo in a rule
// is reported with its line and a hint together with every other problem,
// before a command creates or opens anything.
//
// resolve sits above config and the compatibility readers (compat/…), which
// it calls, and below cli; it knows no command-line library: the caller
// hands in the flags its user gave, by name.
package resolve
