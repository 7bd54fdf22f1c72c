package compat

import "errors"

// Sentinels for errors.Is, shared by the readers of distribution's and
// docker_auth's configurations.
var (
	// ErrUnknownKey is a key the foreign configuration does not have
	// (and Wharf does not know).
	ErrUnknownKey = errors.New("unknown key")
	// ErrNotSupported is a feature of the foreign configuration that Wharf
	// does not have yet.
	ErrNotSupported = errors.New("not supported yet")
)
