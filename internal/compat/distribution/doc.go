// Package distribution reads the configuration of the distribution registry
// (`registry:2`, `registry:3`): a config.yml plus the REGISTRY_* environment
// overrides, and translates it into wharf's own config.Config for
// `wharf registry`.
//
// It owns:
//   - the table of every key distribution v2.8 and v3 know (schema.go), each
//     either translated, accepted with no effect (logged at info), or "not
//     supported yet" (an error). A key in neither the table nor
//     distribution is an error naming its line or environment variable —
//     distribution ignores such keys silently, wharf never does;
//   - distribution's environment rules (env.go): REGISTRY_A_B_C sets a.b.c;
//     section names match case-sensitively in upper case, map keys (storage
//     drivers, auth providers, headers) case-insensitively; variables apply in
//     lexical order so REGISTRY_AUTH=token (which replaces the whole auth
//     section, as in distribution) comes before REGISTRY_AUTH_TOKEN_REALM;
//     values are parsed as YAML, so one level of quotes is removed;
//   - the registry:2 image's built-in config.yml, used when no file is given;
//   - Warnings: diagnostics for values that still carry literal quotes.
//
// notifications.endpoints also takes wharf's additions (secret,
// repositories, backlog), so that `wharf registry` can sign and bound its
// webhooks; distribution itself does not know them.
//
// Load logs what it accepts without effect at info and what the operator
// should look at (Warnings among them) at warn; it returns every error at
// once. It does not call config.Validate: the caller does, as for wharf.yml.
//
// It imports config, the standard library and yaml.v3 only; never a server,
// storage or auth package.
package distribution
