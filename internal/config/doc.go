// Package config owns wharf's own typed configuration (wharf.yml): the
// schema, strict loading (unknown keys are errors that name their line),
// defaults, and validation that reports every problem at once.
//
// It imports the standard library and yaml.v3 only.
package config
