package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGCSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		want       GC
		wantErr    []string
	}{
		{name: "defaults", body: "addr: :5000\n",
			want: GC{Interval: Duration(24 * time.Hour), Grace: Duration(24 * time.Hour), UploadsGrace: Duration(24 * time.Hour),
				LeaseTTL: Duration(time.Minute)}},
		{name: "partial section keeps the other defaults", body: "gc:\n  interval: 0\n  delete_untagged: true\n",
			want: GC{Grace: Duration(24 * time.Hour), UploadsGrace: Duration(24 * time.Hour), DeleteUntagged: true,
				LeaseTTL: Duration(time.Minute)}},
		{name: "all", body: "gc:\n  interval: 6h\n  grace: 2d\n  uploads_grace: 168h\n  lease_ttl: 10s\n",
			want: GC{Interval: Duration(6 * time.Hour), Grace: Duration(48 * time.Hour), UploadsGrace: Duration(168 * time.Hour),
				LeaseTTL: Duration(10 * time.Second)}},
		{name: "too short and negative", body: "gc:\n  interval: -1h\n  grace: 0s\n  uploads_grace: 10ms\n  lease_ttl: 2s\n",
			wantErr: []string{"gc.interval: -1h0m0s is negative", "gc.grace: 0s is too short", "gc.uploads_grace: 10ms is too short",
				"gc.lease_ttl: 2s is too short"}},
		{name: "unknown key", body: "gc:\n  intervall: 1h\n", wantErr: []string{`unknown key "intervall"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(write(t, tc.body))
			if err == nil {
				err = c.Validate()
			}
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c.GC != tc.want {
					t.Errorf("gc = %+v, want %+v", c.GC, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestUploadsMaxAgeAlias: the deprecated uploads.max_age still sets the
// age of idle upload sessions, now gc.uploads_grace, with a deprecation
// note; set beside a different gc.uploads_grace it is refused.
func TestUploadsMaxAgeAlias(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		want       time.Duration
		deprecated bool
		wantErr    string
	}{
		{name: "old key alone", body: "uploads:\n  max_age: 2h\n", want: 2 * time.Hour, deprecated: true},
		{name: "new key alone", body: "gc:\n  uploads_grace: 3h\n", want: 3 * time.Hour},
		{name: "both, same value", body: "uploads:\n  max_age: 3h\ngc:\n  uploads_grace: 3h\n", want: 3 * time.Hour, deprecated: true},
		{name: "both, different values", body: "uploads:\n  max_age: 2h\ngc:\n  uploads_grace: 3h\n",
			wantErr: "line 2: uploads.max_age (2h0m0s) is the old name of gc.uploads_grace (3h0m0s, line 4) and they differ; remove uploads.max_age"},
		{name: "not positive", body: "uploads:\n  max_age: 0s\n", wantErr: "uploads.max_age: 0s is not a positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := ReadFile(write(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				if err := errors.Join(f.Problems...); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("problems %v, want %q", err, tc.wantErr)
				}
				return
			}
			if len(f.Problems) > 0 {
				t.Fatal(f.Problems)
			}
			if got := f.Config.GC.UploadsGrace.Std(); got != tc.want {
				t.Errorf("gc.uploads_grace = %s, want %s", got, tc.want)
			}
			if got := len(f.Deprecations) == 1 && f.Deprecations[0].Key == "uploads.max_age" && f.Deprecations[0].Line == 2; got != tc.deprecated {
				t.Errorf("deprecations %+v, want one for uploads.max_age line 2: %v", f.Deprecations, tc.deprecated)
			}
		})
	}
}
