package ociapi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wharf/internal/errcode"
)

// noErr marks a path that parses.
const noErr errcode.Code = -1

func TestParsePath(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 256)
	tests := []struct {
		name    string
		path    string
		want    route
		wantErr errcode.Code
	}{
		{"base", "/v2/", route{Kind: routeBase}, noErr},
		{"base without slash", "/v2", route{Kind: routeBase}, noErr},
		{"catalog", "/v2/_catalog", route{Kind: routeCatalog}, noErr},
		{"tags", "/v2/library/alpine/tags/list", route{Kind: routeTags, Name: "library/alpine"}, noErr},
		{"manifest by tag", "/v2/a/manifests/latest", route{Kind: routeManifest, Name: "a", Ref: "latest"}, noErr},
		{"manifest by digest", "/v2/a/b/manifests/sha256:abc", route{Kind: routeManifest, Name: "a/b", Ref: "sha256:abc"}, noErr},
		{"blob", "/v2/a/blobs/sha256:abc", route{Kind: routeBlob, Name: "a", Ref: "sha256:abc"}, noErr},
		{"upload start", "/v2/a/blobs/uploads/", route{Kind: routeUploadStart, Name: "a"}, noErr},
		{"upload start without slash", "/v2/a/blobs/uploads", route{Kind: routeUploadStart, Name: "a"}, noErr},
		{"upload", "/v2/a/blobs/uploads/xyz", route{Kind: routeUpload, Name: "a", Ref: "xyz"}, noErr},
		{"referrers", "/v2/a/referrers/sha256:abc", route{Kind: routeReferrers, Name: "a", Ref: "sha256:abc"}, noErr},
		{"name containing blobs", "/v2/x/blobs/blobs/sha256:abc", route{Kind: routeBlob, Name: "x/blobs", Ref: "sha256:abc"}, noErr},
		{"name containing manifests", "/v2/manifests/manifests/v1", route{Kind: routeManifest, Name: "manifests", Ref: "v1"}, noErr},
		{"name ending in uploads", "/v2/x/blobs/blobs/uploads/", route{Kind: routeUploadStart, Name: "x/blobs"}, noErr},
		{"separators", "/v2/a.b_c__d--e/f/manifests/1", route{Kind: routeManifest, Name: "a.b_c__d--e/f", Ref: "1"}, noErr},
		{"traversal", "/v2/../etc/manifests/x", route{}, errcode.NameInvalid},
		{"dot component", "/v2/a/./b/manifests/x", route{}, errcode.NameInvalid},
		{"uppercase", "/v2/Alpine/manifests/x", route{}, errcode.NameInvalid},
		{"empty component", "/v2/a//b/manifests/x", route{}, errcode.NameInvalid},
		{"leading separator", "/v2/-a/manifests/x", route{}, errcode.NameInvalid},
		{"too long", "/v2/" + long + "/manifests/x", route{}, errcode.NameInvalid},
		{"empty name", "/v2//manifests/x", route{}, errcode.NameInvalid},
		{"no name", "/v2/manifests/x", route{}, errcode.NotFound},
		{"unknown endpoint", "/v2/a/b/c", route{}, errcode.NotFound},
		{"empty reference", "/v2/a/manifests/", route{}, errcode.NotFound},
		{"not v2", "/v1/a/manifests/x", route{}, errcode.NotFound},
		{"v2 prefix only", "/v2x/a/manifests/x", route{}, errcode.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parsePath(tc.path)
			if tc.wantErr != noErr {
				if e, ok := errcode.As(err); !ok || e.Code != tc.wantErr {
					t.Fatalf("parsePath(%q) error = %v, want code %v", tc.path, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parsePath(%q): %v", tc.path, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parsePath(%q) mismatch (-want +got):\n%s", tc.path, diff)
			}
		})
	}
}

// FuzzParsePath checks that no path yields a name that could leave a
// directory, and that parsing never panics.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2/a/b/manifests/latest", "/v2/a/blobs/uploads/", "/v2/../x/blobs/sha256:1", "/v2/a/tags/list", "/v2/%2e%2e/manifests/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt, err := parsePath(p)
		if err != nil {
			return
		}
		for _, c := range strings.Split(rt.Name, "/") {
			if rt.Kind != routeBase && rt.Kind != routeCatalog && (c == "" || c == "." || c == ".." || strings.ContainsAny(c, "\\\x00")) {
				t.Fatalf("parsePath(%q) accepted unsafe name %q", p, rt.Name)
			}
		}
		if strings.Contains(rt.Ref, "/") {
			t.Fatalf("parsePath(%q) returned a reference with a slash: %q", p, rt.Ref)
		}
	})
}

func TestParseContentRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		start, end int64
		ok         bool
	}{
		{"0-0", 0, 0, true},
		{"0-99", 0, 99, true},
		{"100-199", 100, 199, true},
		{"bytes=5-9", 5, 9, true},
		{"bytes 5-9", 5, 9, true},
		{"9-5", 0, 0, false},
		{"-5", 0, 0, false},
		{"5-", 0, 0, false},
		{"a-b", 0, 0, false},
		{"1-2-3", 0, 0, false},
		{"+1-2", 0, 0, false},
		{"", 0, 0, false},
		{"99999999999999999999-1", 0, 0, false},
		{"0-9223372036854775808", 0, 0, false},
		// The chunk's length, end-start+1, would not fit in an int64.
		{"0-9223372036854775807", 0, 0, false},
		{"1-9223372036854775806", 1, 9223372036854775806, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			s, e, err := parseContentRange(tc.in)
			if tc.ok != (err == nil) {
				t.Fatalf("parseContentRange(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && (s != tc.start || e != tc.end) {
				t.Errorf("parseContentRange(%q) = %d, %d; want %d, %d", tc.in, s, e, tc.start, tc.end)
			}
		})
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-0", "1-2", "bytes=0-1", "x", "-1", "18446744073709551615-0", "0-9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, e, err := parseContentRange(in)
		if err == nil && (s < 0 || e < s || e-s+1 <= 0) {
			t.Fatalf("parseContentRange(%q) = %d, %d: invalid range accepted", in, s, e)
		}
	})
}
