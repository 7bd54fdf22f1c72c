package buildinfo

import "runtime/debug"

// version is the release, set when building:
//
//	go build -ldflags "-X wharf/internal/buildinfo.version=$(git describe --tags --always --dirty)"
//
// A build without it (go build, go run) reports the commit Go stamped into
// the binary instead.
var version string

// Version is the running build's version.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return resolve(version, bi)
}

// resolve picks the version to report: the one set at build time; else
// the commit Go stamped from the checkout (vcs.revision, with "-dirty" when
// it had uncommitted changes); else the module's version (a go install of
// a release); else "(devel)".
func resolve(set string, bi *debug.BuildInfo) string {
	if set != "" {
		return set
	}
	if bi == nil {
		return "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return rev + dirty
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return "(devel)"
}
