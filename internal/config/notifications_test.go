package config

import (
	"strings"
	"testing"
)

func TestNotificationsValidate(t *testing.T) {
	t.Parallel()
	ok := Endpoint{Name: "hook", URL: "https://hooks.example/registry"}
	tests := []struct {
		name string
		eps  []Endpoint
		want []string // each a substring of one error; none: valid
	}{
		{"valid", []Endpoint{ok, {Name: "b", URL: "http://127.0.0.1:9/x", Repositories: []string{"team/**"}, Ignore: EndpointIgnore{Actions: []string{"pull", "mount"}}}}, nil},
		{"no name", []Endpoint{{URL: ok.URL}}, []string{"endpoints[0].name: required"}},
		{"same name twice", []Endpoint{ok, ok}, []string{`endpoints[1].name: "hook" names two endpoints`}},
		{"no url", []Endpoint{{Name: "x"}}, []string{"endpoints[0].url"}},
		{"not http", []Endpoint{{Name: "x", URL: "ftp://h/x"}}, []string{"not an http:// or https:// URL"}},
		{"credentials in url", []Endpoint{{Name: "x", URL: "https://u:p@h/x"}}, []string{"credentials in the URL"}},
		{"unknown action", []Endpoint{{Name: "x", URL: ok.URL, Ignore: EndpointIgnore{Actions: []string{"pul"}}}}, []string{`"pul" is not one of push, pull, mount, delete`}},
		{"bad pattern", []Endpoint{{Name: "x", URL: ok.URL, Repositories: []string{"team/[ab]"}}}, []string{`repositories: "team/[ab]"`}},
		{"negative", []Endpoint{{Name: "x", URL: ok.URL, Backlog: -1}}, []string{"must not be negative"}},
		{"negative maxevents", []Endpoint{{Name: "x", URL: ok.URL, MaxEvents: -1}}, []string{"must not be negative"}},
		{"maxevents at its bound", []Endpoint{{Name: "x", URL: ok.URL, MaxEvents: 1000}}, nil},
		{"maxevents past its bound", []Endpoint{{Name: "x", URL: ok.URL, MaxEvents: 1001}}, []string{"endpoints[0].maxevents: 1001 is more than 1000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := Notifications{Endpoints: tc.eps}.validate()
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
	// A token in the URL's path stays out of the message.
	errs := Notifications{Endpoints: []Endpoint{{Name: "x", URL: "gopher://h/secret-token"}}}.validate()
	if len(errs) != 1 || strings.Contains(errs[0].Error(), "secret-token") {
		t.Errorf("validate() = %v; want one error without the URL's path", errs)
	}
}

func TestEndpointDefaults(t *testing.T) {
	t.Parallel()
	e := Endpoint{}.WithDefaults()
	if e.Timeout.Std() != DefaultEndpointTimeout || e.Threshold != DefaultEndpointThreshold || e.Backoff.Std() != DefaultEndpointBackoff || e.Backlog != DefaultEndpointBacklog || e.MaxEvents != DefaultEndpointMaxEvents {
		t.Errorf("defaults = %+v", e)
	}
}
