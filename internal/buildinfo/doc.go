// Package buildinfo owns the running build's version: the one set when
// building (-ldflags "-X wharf/internal/buildinfo.version=…", as make build
// and make image do), else what Go stamped into the binary. `wharf
// version` prints it and wharf_build_info carries it, so both always agree.
//
// It imports the standard library only.
package buildinfo
