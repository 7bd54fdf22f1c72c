package external

import (
	"strings"
	"testing"
)

func TestExcerptHidesSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"bad password hunter2 for alice\n", 100, "bad password *** for alice"},
		{"cut at the bound: hunt", 100, "cut at the bound: ***"},
		{strings.Repeat("a", 20), 10, strings.Repeat("a", 10) + "…"},
	}
	for _, tc := range tests {
		if got := excerpt([]byte(tc.in), tc.n, "hunter2"); got != tc.want {
			t.Errorf("Excerpt(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
