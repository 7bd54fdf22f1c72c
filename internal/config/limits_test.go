package config

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLimits(t *testing.T) {
	t.Parallel()
	cpus := runtime.GOMAXPROCS(0)
	defaults := Limits{PasswordChecks: cpus, PasswordCheckWait: Duration(time.Second), ExternalCalls: 2 * cpus,
		ExternalCallWait: Duration(10 * time.Second), AnonymousScopes: 8, AnonymousTokenBurst: 100, AnonymousTokenRate: 20}
	tests := []struct {
		name    string
		body    string
		want    Limits   // after WithDefaults
		wantErr []string // Validate's error names every key
	}{
		{name: "absent: the defaults", body: "", want: defaults},
		{name: "zeros: the defaults", body: "limits:\n  password_checks: 0\n  anonymous_token_rate: 0\n", want: defaults},
		{name: "every key", body: `limits:
  password_checks: 3
  password_check_wait: 250ms
  external_calls: 5
  external_call_wait: 30
  anonymous_scopes: 2
  anonymous_token_burst: 10
  anonymous_token_rate: 0.5
`, want: Limits{PasswordChecks: 3, PasswordCheckWait: Duration(250 * time.Millisecond), ExternalCalls: 5,
			ExternalCallWait: Duration(30 * time.Second), AnonymousScopes: 2, AnonymousTokenBurst: 10, AnonymousTokenRate: 0.5}},
		{name: "out of range", body: `limits:
  password_checks: -1
  password_check_wait: 2m
  external_calls: -2
  external_call_wait: -1s
  anonymous_scopes: 65
  anonymous_token_burst: -3
  anonymous_token_rate: -1
`, wantErr: []string{"limits.password_checks:", "limits.password_check_wait:", "limits.external_calls:", "limits.external_call_wait:",
			"limits.anonymous_scopes: 65 is above 64", "limits.anonymous_token_burst:", "limits.anonymous_token_rate:"}},
		{name: "a rate too small to be meant", body: "limits:\n  anonymous_token_rate: 0.000001\n", wantErr: []string{"limits.anonymous_token_rate: 1e-06", "one a day"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(write(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if tc.wantErr != nil {
				if err == nil {
					t.Fatal("Validate accepted invalid limits")
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error does not mention %q:\n%v", s, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.Limits.WithDefaults()); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
		})
	}
	if got := (Limits{AnonymousTokenRate: 4}).AnonymousTokenEvery(); got != 250*time.Millisecond {
		t.Errorf("4 a second: one every %s", got)
	}
	if got := (Limits{}).AnonymousTokenEvery(); got != 50*time.Millisecond {
		t.Errorf("the default rate: one every %s, want 50ms", got)
	}
}
