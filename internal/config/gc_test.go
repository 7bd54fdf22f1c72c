package config

import (
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
