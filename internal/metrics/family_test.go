package metrics

import (
	"slices"
	"testing"
)

func TestFamily(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, want string }{
		{"/v2/", FamilyBase},
		{"/v2", FamilyBase},
		{"/v2/_catalog", FamilyCatalog},
		{"/v2/library/alpine/manifests/latest", FamilyManifest},
		{"/v2/a/manifests/sha256:0123", FamilyManifest},
		// A repository named like an operation is still read from the end.
		{"/v2/blobs/manifests/blobs/uploads/x/manifests/v1", FamilyManifest},
		{"/v2/a/b/blobs/sha256:0123", FamilyBlob},
		{"/v2/a/blobs/uploads/", FamilyUpload},
		{"/v2/a/blobs/uploads", FamilyUpload},
		{"/v2/a/blobs/uploads/5f0c-uuid", FamilyUpload},
		{"/v2/a/b/c/tags/list", FamilyTags},
		{"/v2/a/referrers/sha256:0123", FamilyReferrers},
		{"/v2/a/uploads/x", FamilyOther},
		{"/v2/a", FamilyOther},
		{"/v2/a/unknown/x", FamilyOther},
		{"/auth", FamilyToken},
		{"/auth/token", FamilyToken},
		{"/auth/jwks.json", FamilyToken},
		{"/authx", FamilyOther},
		{"/api/v1/users", FamilyAdmin},
		{"/metrics", FamilyOther},
		{"/../../etc/passwd", FamilyOther},
		{"", FamilyOther},
	} {
		if got := Family(tc.path); got != tc.want {
			t.Errorf("Family(%q) = %q; want %q", tc.path, got, tc.want)
		}
		if !slices.Contains(Families, Family(tc.path)) {
			t.Errorf("Family(%q) = %q, not in Families", tc.path, Family(tc.path))
		}
	}
}

func TestMethodAndStatusBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"GET", "GET"}, {"PATCH", "PATCH"}, {"get", "other"}, {"PROPFIND", "other"}, {"", "other"},
	} {
		if got := Method(tc.in); got != tc.want {
			t.Errorf("Method(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   int
		want string
	}{{0, "2xx"}, {200, "2xx"}, {201, "2xx"}, {307, "3xx"}, {429, "4xx"}, {503, "5xx"}, {99, "other"}, {600, "other"}, {-1, "other"}} {
		if got := StatusClass(tc.in); got != tc.want {
			t.Errorf("StatusClass(%d) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
