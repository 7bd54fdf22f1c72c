package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"library/alpine", true},
		{"a.b/c_d/e__f/g-h/i---j", true},
		{"0/1/2", true},
		{"", false},
		{"A", false},
		{"a/", false},
		{"/a", false},
		{"a//b", false},
		{"../a", false},
		{"a/..", false},
		{"a/./b", false},
		{"a___b", false},
		{"a..b", false},
		{"-a", false},
		{"a-", false},
		{"a\\b", false},
		{"a b", false},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidName(tc.name); got != tc.ok {
				t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
			}
		})
	}
}

func TestValidTag(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag string
		ok  bool
	}{
		{"latest", true},
		{"v1.2.3-rc_1", true},
		{"_x", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"", false},
		{".x", false},
		{"-x", false},
		{"a:b", false},
		{"a/b", false},
	}
	for _, tc := range tests {
		t.Run(tc.tag, func(t *testing.T) {
			t.Parallel()
			if got := ValidTag(tc.tag); got != tc.ok {
				t.Errorf("ValidTag(%q) = %v, want %v", tc.tag, got, tc.ok)
			}
		})
	}
}

func TestParseDigest(t *testing.T) {
	t.Parallel()
	sha256 := "sha256:" + strings.Repeat("a", 64)
	sha512 := "sha512:" + strings.Repeat("b", 128)
	tests := []struct {
		in   string
		want error
	}{
		{sha256, nil},
		{sha512, nil},
		{"sha256:" + strings.Repeat("A", 64), ErrDigestInvalid},
		{"sha256:" + strings.Repeat("a", 63), ErrDigestInvalid},
		{"sha384:" + strings.Repeat("a", 96), ErrDigestUnsupported},
		{"md5:" + strings.Repeat("a", 32), ErrDigestInvalid},
		{"sha256", ErrDigestInvalid},
		{"", ErrDigestInvalid},
		{"sha256:../../etc/passwd", ErrDigestInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			d, err := ParseDigest(tc.in)
			if tc.want == nil {
				if err != nil || d.String() != tc.in {
					t.Fatalf("ParseDigest(%q) = %q, %v", tc.in, d, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseDigest(%q) error = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func FuzzParseDigest(f *testing.F) {
	f.Add("sha256:" + strings.Repeat("a", 64))
	f.Add("sha512:" + strings.Repeat("0", 128))
	f.Add("sha256:/../")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDigest(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(d.Encoded(), "/\\.") || d.Validate() != nil {
			t.Fatalf("ParseDigest(%q) accepted %q", in, d)
		}
	})
}
