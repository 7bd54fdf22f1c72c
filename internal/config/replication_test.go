package config

import (
	"strings"
	"testing"
)

func TestReplicationValidate(t *testing.T) {
	t.Parallel()
	yes := true
	push := ReplicationRule{Name: "to-dr", Direction: "push", URL: "https://dr.example.com", Repositories: []string{"team/**"}}
	pull := ReplicationRule{Name: "from-hub", Direction: "pull", URL: "https://registry-1.docker.io", Repositories: []string{"library/*"}, Schedule: Duration(MinReplicationSchedule)}
	with := func(r ReplicationRule, f func(*ReplicationRule)) ReplicationRule { f(&r); return r }
	tests := []struct {
		name  string
		rules []ReplicationRule
		want  []string // each a substring of one error; none: valid
	}{
		{"valid", []ReplicationRule{push, pull}, nil},
		{"no name", []ReplicationRule{with(push, func(r *ReplicationRule) { r.Name = "" })}, []string{"rules[0].name: required"}},
		{"same name twice", []ReplicationRule{push, push}, []string{`rules[1].name: "to-dr" names two rules`}},
		{"direction", []ReplicationRule{with(push, func(r *ReplicationRule) { r.Direction = "both" })}, []string{`direction: "both" is not push`}},
		{"credentials in url", []ReplicationRule{with(push, func(r *ReplicationRule) { r.URL = "https://u:p@h" })}, []string{"credentials in the URL"}},
		{"path in url", []ReplicationRule{with(push, func(r *ReplicationRule) { r.URL = "https://h/team" })}, []string{"put the path in prefix"}},
		{"no repositories", []ReplicationRule{with(push, func(r *ReplicationRule) { r.Repositories = nil })}, []string{"repositories: required"}},
		{"bad pattern", []ReplicationRule{with(push, func(r *ReplicationRule) { r.Tags = []string{"v[1"} })}, []string{`"v[1" is not a pattern`}},
		{"bad prefix", []ReplicationRule{with(push, func(r *ReplicationRule) { r.Prefix = "Mirror" })}, []string{"prefix"}},
		{"password without user", []ReplicationRule{with(push, func(r *ReplicationRule) { r.PasswordFile = "/run/pw" })}, []string{"username: required"}},
		{"schedule too short", []ReplicationRule{with(push, func(r *ReplicationRule) { r.Schedule = Duration(MinReplicationSchedule / 2) })}, []string{"is less than 1m0s"}},
		{"pull on push", []ReplicationRule{with(pull, func(r *ReplicationRule) { r.OnPush = &yes })}, []string{"on_push: a pull rule"}},
		{"pull without schedule", []ReplicationRule{with(pull, func(r *ReplicationRule) { r.Schedule = 0 })}, []string{"a pull rule needs one"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := Replication{Rules: tc.rules}.validateRules()
			if len(errs) != len(tc.want) {
				t.Fatalf("validate() = %v; want %d errors", errs, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %q does not mention %q", errs[i], w)
				}
			}
		})
	}
}

func TestReplicationDefaults(t *testing.T) {
	t.Parallel()
	if r := (ReplicationRule{Direction: ReplicatePush, Prefix: "/m/"}).WithDefaults(); !*r.OnPush || r.Prefix != "m" {
		t.Errorf("push defaults = on_push %v, prefix %q; want true, m", *r.OnPush, r.Prefix)
	}
	if r := (ReplicationRule{Direction: ReplicatePull}).WithDefaults(); *r.OnPush {
		t.Error("a pull rule copies on push by default")
	}
}
