package diskspace

import (
	"strings"
	"testing"
)

func TestOfNamesTheFilesystem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Total == 0 || s.Free > s.Total || s.MountPoint == "" || !under(s.Path, s.MountPoint) {
		t.Errorf("Of(%s) = %+v", dir, s)
	}
	if d := Describe(dir); !strings.Contains(d, " free of ") || !strings.Contains(d, s.MountPoint) {
		t.Errorf("Describe = %q", d)
	}
	t.Logf("%s", s)
}

func TestDescribeSaysWhenUnknown(t *testing.T) {
	t.Parallel()
	if d := Describe("/no/such/dir/anywhere"); !strings.Contains(d, "free space unknown") {
		t.Errorf("Describe of a missing path = %q", d)
	}
}

func TestMountInfoHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, dir string
		want      bool
	}{
		{"/srv/wharf", "/", true},
		{"/srv/wharf", "/srv", true},
		{"/srv/wharf", "/srv/wharf", true},
		{"/srv/wharfx", "/srv/wharf", false},
		{"/srv", "/srv/wharf", false},
	}
	for _, tc := range tests {
		if got := under(tc.path, tc.dir); got != tc.want {
			t.Errorf("under(%q, %q) = %v", tc.path, tc.dir, got)
		}
	}
	if got := unescape(`/mnt/my\040disk`); got != "/mnt/my disk" {
		t.Errorf("unescape = %q", got)
	}
}
