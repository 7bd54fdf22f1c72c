package proxy

import (
	"log/slog"
	"testing"

	"wharf/internal/upstream"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	client := func(url string) *upstream.Client {
		c, err := upstream.New(upstream.Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c, err := New(nil, slog.New(slog.DiscardHandler), []Upstream{
		{Prefix: "", Client: client("https://registry-1.docker.io"), DockerHub: true},
		{Prefix: "hub", Client: client("https://registry-1.docker.io"), DockerHub: true},
		{Prefix: "ghcr", Client: client("https://ghcr.io")},
		{Prefix: "ghcr/mirror", Client: client("https://mirror.example")},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, host, remote string
	}{
		{"hub/nginx", "registry-1.docker.io", "library/nginx"},
		{"hub/library/nginx", "registry-1.docker.io", "library/nginx"},
		{"hub/bitnami/redis", "registry-1.docker.io", "bitnami/redis"},
		{"ghcr/owner/image", "ghcr.io", "owner/image"},
		{"ghcr/mirror/a/b", "mirror.example", "a/b"},
		{"ghcr", "registry-1.docker.io", "library/ghcr"}, // no component after the prefix: the mirror's
		{"nginx", "registry-1.docker.io", "library/nginx"},
		{"team/app", "registry-1.docker.io", "team/app"},
	}
	for _, tc := range tests {
		u, remote, ok := c.resolve(tc.name)
		if !ok || u.Client.Host() != tc.host || remote != tc.remote {
			t.Errorf("resolve(%q) = %v %q %v; want %s %q", tc.name, ok, remote, u, tc.host, tc.remote)
		}
	}

	// Without a mirror, names outside every prefix are ordinary.
	c, err = New(nil, slog.New(slog.DiscardHandler), []Upstream{{Prefix: "hub", Client: client("https://registry-1.docker.io")}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"team/app", "hubx/app", "hub"} {
		if c.Serves(name) {
			t.Errorf("Serves(%q); want an ordinary repository", name)
		}
	}
	if _, err := New(nil, slog.New(slog.DiscardHandler), []Upstream{{Prefix: "a", Client: client("https://x")}, {Prefix: "a/", Client: client("https://y")}}, Options{}); err == nil {
		t.Error("two upstreams under one prefix were accepted")
	}
}
