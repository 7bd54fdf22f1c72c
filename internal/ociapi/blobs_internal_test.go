package ociapi

import "testing"

func TestPlainRange(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", true},
		{"bytes=0-0", true},
		{"bytes=500-999", true},
		{"bytes=500-", true},
		{"bytes=-10", true},
		{"bytes=500-0", false},
		{"bytes=-0", false},
		{"bytes=0-1,5-6", false},
		{"bytes=a-b", false},
		{"bytes=1", false},
		{"items=0-1", false},
		{"bytes=-", false},
		{"bytes=99999999999999999999-", false},
	} {
		if got := plainRange(tc.header); got != tc.want {
			t.Errorf("plainRange(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
