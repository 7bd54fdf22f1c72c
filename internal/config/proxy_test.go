package config

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestProxyValidate(t *testing.T) {
	t.Parallel()
	hub := Upstream{Prefix: "hub", URL: "https://registry-1.docker.io"}
	tests := []struct {
		name string
		ups  []Upstream
		want []string // each a substring of one error; none: valid
	}{
		{"valid", []Upstream{hub, {Mirror: true, URL: "http://127.0.0.1:5000", Username: "u", PasswordFile: "/p"}, {Prefix: "ghcr/io", URL: "https://ghcr.io/"}}, nil},
		{"mirror with a prefix", []Upstream{{Prefix: "hub", Mirror: true, URL: hub.URL}}, []string{"mirror: true serves names without a prefix"}},
		{"bad prefix", []Upstream{{Prefix: "Hub", URL: hub.URL}}, []string{`prefix: "Hub" is not a repository name prefix`}},
		{"same prefix twice", []Upstream{hub, hub}, []string{"prefix hub is also proxy.upstreams[0]'s"}},
		{"two mirrors", []Upstream{{URL: hub.URL}, {Mirror: true, URL: hub.URL}}, []string{"the mirror (no prefix) is also"}},
		{"no url", []Upstream{{Prefix: "x"}}, []string{"upstreams[0].url"}},
		{"url with a path", []Upstream{{Prefix: "x", URL: "https://h/v2/"}}, []string{"has a path"}},
		{"credentials in url", []Upstream{{Prefix: "x", URL: "https://u:p@h"}}, []string{"credentials in the URL"}},
		{"two passwords", []Upstream{{Prefix: "x", URL: hub.URL, Username: "u", Password: "p", PasswordFile: "/p"}}, []string{"keep password_file"}},
		{"password without user", []Upstream{{Prefix: "x", URL: hub.URL, PasswordFile: "/p"}}, []string{"username: required"}},
		{"mirror named like a prefix", []Upstream{{Prefix: "mirror", URL: hub.URL}, {Mirror: true, URL: hub.URL}}, []string{`the name "mirror" is also proxy.upstreams[0]'s`}},
		{"named apart", []Upstream{{Prefix: "mirror", URL: hub.URL}, {Mirror: true, Name: "hub-mirror", URL: hub.URL}}, nil},
		{"bad name", []Upstream{{Prefix: "x", Name: "Bad Name", URL: hub.URL}}, []string{`name: "Bad Name" is not an upstream name`}},
		{"negative ttl", []Upstream{{Prefix: "x", URL: hub.URL, TTL: Duration(-time.Second)}}, []string{"must not be negative"}},
		{"negative max_size", []Upstream{{Prefix: "x", URL: hub.URL, MaxSize: -1}}, []string{"max_size and evict_after must not be negative"}},
		{"negative evict_after", []Upstream{{Prefix: "x", URL: hub.URL, EvictAfter: Duration(-time.Hour)}}, []string{"must not be negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := Proxy{Upstreams: tc.ups}.validate()
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

func TestUpstreamDefaults(t *testing.T) {
	t.Parallel()
	u := Upstream{Prefix: "/hub/"}.WithDefaults()
	if u.TTL.Std() != DefaultUpstreamTTL || u.Timeout.Std() != DefaultUpstreamTimeout || u.Prefix != "hub" || u.Mirror {
		t.Errorf("defaults = %+v", u)
	}
	if m := (Upstream{}).WithDefaults(); !m.Mirror {
		t.Errorf("an empty prefix is not the mirror: %+v", m)
	}
}

// TestUpstreamRetentionKeys: max_size and evict_after read as a size and a
// duration from wharf.yml.
func TestUpstreamRetentionKeys(t *testing.T) {
	t.Parallel()
	var p Proxy
	if err := yaml.Unmarshal([]byte("upstreams:\n  - mirror: true\n    url: https://registry-1.docker.io\n    max_size: 2GiB\n    evict_after: 720h\n"), &p); err != nil {
		t.Fatal(err)
	}
	if u := p.Upstreams[0]; u.MaxSize != 2<<30 || u.EvictAfter.Std() != 720*time.Hour {
		t.Errorf("max_size %d, evict_after %s; want 2 GiB, 720h", u.MaxSize, u.EvictAfter.Std())
	}
}
