package registry

import (
	"errors"
	"math/rand/v2"
	"regexp"
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

// The spec's grammars as regular expressions: ValidName and ValidTag scan
// by hand and must agree with them on every string.
var (
	nameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// TestNamesAgreeWithGrammar compares the scanners with the expressions on
// every string of up to 6 characters over an alphabet of the characters
// that matter, and on random longer ones.
func TestNamesAgreeWithGrammar(t *testing.T) {
	t.Parallel()
	const alphabet = "a0Z._-/:"
	var walk func(prefix string, n int)
	walk = func(prefix string, n int) {
		checkNameAndTag(t, prefix)
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			walk(prefix+alphabet[i:i+1], n-1)
		}
	}
	walk("", 6)
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		b := make([]byte, 1+r.IntN(300))
		for i := range b {
			b[i] = "ab9._-/A"[r.IntN(8)]
		}
		checkNameAndTag(t, string(b))
	}
}

func checkNameAndTag(t *testing.T, s string) {
	if got, want := ValidName(s), len(s) <= MaxNameLength && nameRE.MatchString(s); got != want {
		t.Fatalf("ValidName(%q) = %v, the grammar says %v", s, got, want)
	}
	if got, want := ValidTag(s), tagRE.MatchString(s); got != want {
		t.Fatalf("ValidTag(%q) = %v, the grammar says %v", s, got, want)
	}
}

// FuzzNames compares the scanners with the expressions on any input.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"a/b", "a__b", "a-b--c", "a.b", "a___b", "a/.b", "_x", "x" + strings.Repeat("y", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkNameAndTag(t, s) })
}
