package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Access
		err  bool
	}{
		{in: "repository:library/alpine:pull", want: Access{Type: "repository", Name: "library/alpine", Actions: []string{"pull"}}},
		{in: "repository:a:push,pull,pull", want: Access{Type: "repository", Name: "a", Actions: []string{"pull", "push"}}},
		{in: "repository:localhost:5000/a/b:pull", want: Access{Type: "repository", Name: "localhost:5000/a/b", Actions: []string{"pull"}}},
		{in: "registry:catalog:*", want: Access{Type: "registry", Name: "catalog", Actions: []string{"*"}}},
		{in: "repository(plugin):vieux/sshfs:pull", want: Access{Type: "repository", Class: "plugin", Name: "vieux/sshfs", Actions: []string{"pull"}}},
		{in: "repository:a:", want: Access{Type: "repository", Name: "a"}},
		{in: "repository:a:delete", want: Access{Type: "repository", Name: "a", Actions: []string{"delete"}}},
		{in: "repository", err: true},
		{in: "repository:a", err: true},
		{in: ":a:pull", err: true},
		{in: "repository::pull", err: true},
		{in: "repository:a:pu ll", err: true},
		{in: "repository:a b:pull", err: true},
		{in: "repo(:a:pull", err: true},
		{in: "(x):a:pull", err: true},
		{in: "repository:a:pull;rm", err: true},
		{in: "repository:" + strings.Repeat("a", 2000) + ":pull", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseScope(tc.in)
			if tc.err {
				if !errors.Is(err, ErrInvalidScope) {
					t.Fatalf("ParseScope(%q) = %+v, %v; want ErrInvalidScope", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseScope(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseScopesMerges(t *testing.T) {
	t.Parallel()
	got, err := ParseScopes([]string{"repository:a:pull repository:b:pull", "repository:a:push", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []Access{
		{Type: "repository", Name: "a", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "b", Actions: []string{"pull"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseScopes([]string{"repository:a:pull bad"}); err == nil {
		t.Error("a malformed scope in a list was accepted")
	}
}

func TestAllows(t *testing.T) {
	t.Parallel()
	pull := Access{Type: "repository", Name: "a", Actions: []string{"pull"}}
	all := Access{Type: "repository", Name: "a", Actions: []string{"*"}}
	tests := []struct {
		a                 Access
		typ, name, action string
		want              bool
	}{
		{pull, "repository", "a", "pull", true},
		{pull, "repository", "a", "push", false},
		{pull, "repository", "b", "pull", false},
		{pull, "registry", "a", "pull", false},
		{all, "repository", "a", "delete", true},
	}
	for _, tc := range tests {
		if got := tc.a.Allows(tc.typ, tc.name, tc.action); got != tc.want {
			t.Errorf("%v.Allows(%s, %s, %s) = %v", tc.a, tc.typ, tc.name, tc.action, got)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := Secret("hunter2")
	for _, out := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret leaked: %q", out)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Fatal("Reveal lost the value")
	}
}

// FuzzParseScope checks that parsing never panics and that what it accepts
// renders back to a scope that parses to the same access.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"repository:a/b:pull,push", "registry:catalog:*", "repository(plugin):x:pull", "a:b:c:d", "::", "repository:a:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := ParseScope(in)
		if err != nil {
			return
		}
		b, err := ParseScope(a.String())
		if err != nil {
			t.Fatalf("ParseScope(%q) = %+v, whose String %q does not parse: %v", in, a, a.String(), err)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("round trip of %q changed it:\n%s", in, diff)
		}
	})
}
