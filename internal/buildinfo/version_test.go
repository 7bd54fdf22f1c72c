package buildinfo

import (
	"runtime/debug"
	"testing"
)

// TestResolve: the version set at build time wins; then the commit Go
// stamped (short, -dirty when modified); then a module version (go install
// of a release); then (devel).
func TestResolve(t *testing.T) {
	t.Parallel()
	vcs := func(rev, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
		bi.Settings = []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
		return bi
	}
	tests := []struct {
		set  string
		bi   *debug.BuildInfo
		want string
	}{
		{"v1.2.0-3-gabc1234-dirty", vcs("0123456789abcdef0123", "true"), "v1.2.0-3-gabc1234-dirty"},
		{"", vcs("0123456789abcdef0123", "false"), "0123456789ab"},
		{"", vcs("0123456789abcdef0123", "true"), "0123456789ab-dirty"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel)"},
		{"", nil, "(devel)"},
	}
	for _, tc := range tests {
		if got := resolve(tc.set, tc.bi); got != tc.want {
			t.Errorf("resolve(%q, %v) = %q, want %q", tc.set, tc.bi, got, tc.want)
		}
	}
}
