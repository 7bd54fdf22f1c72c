// Package config owns wharf's own typed configuration (wharf.yml): the
// schema, strict loading (unknown keys are errors that name their line and
// the key they probably meant), defaults, and validation that reports every
// problem at once.
//
// It is read, for every command, through resolve (config/resolve), which
// layers the environment and the flags over the file and calls Validate
// once; nothing else validates a Config.
//
// The users: and acl: sections are parsed while the file is read, into the
// types of the packages that own their grammar: static.Users (auth/authn/
// static) and authz.Rule (auth/authz). The arrow points from config down to
// them: those engines never import config (the closest-key hint they share
// with it lives in the leaf keyhint), so a Config carries typed users and
// rules and nothing parses them again. config imports the standard library,
// yaml.v3, keyhint, authz and static only; never HTTP, a database, the
// foreign readers (compat/…) or resolve, which sit above it.
package config
