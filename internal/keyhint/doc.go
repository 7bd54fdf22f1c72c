// Package keyhint suggests the known key a mistyped configuration key
// probably meant, so that every strict reader of configuration (wharf.yml,
// its users: and acl:, distribution's and docker_auth's files) words the
// hint the same way.
//
// It is a leaf: it imports the standard library only, so that the engines
// that parse their own sections (auth/authz, auth/authn/static) and config,
// which embeds those sections, can all use it without importing each other
// upwards.
package keyhint
