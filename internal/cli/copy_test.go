package cli

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestParseDestination(t *testing.T) {
	t.Parallel()
	tag, _ := name.ParseReference("src.example/team/app:1.4")
	dig, _ := name.ParseReference("src.example/team/app@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name string
		src  name.Reference
		arg  string
		want string
	}{
		{"repository takes the source's tag", tag, "dst.example/mirror/app", "dst.example/mirror/app:1.4"},
		{"repository takes the source's digest", dig, "dst.example/mirror/app", "dst.example/mirror/app@" + dig.Identifier()},
		{"a tag of its own", tag, "dst.example/mirror/app:2", "dst.example/mirror/app:2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseDestination(tc.arg, tc.src, nil)
			if err != nil || got.String() != tc.want {
				t.Errorf("parseDestination(%q) = %v, %v; want %s", tc.arg, got, err, tc.want)
			}
		})
	}
	if _, err := parseDestination("dst.example/Bad:tag:x", tag, nil); err == nil {
		t.Error("a malformed DST was accepted")
	}
}
