package authstack

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"wharf/internal/auth"
	"wharf/internal/buildinfo"
	"wharf/internal/config"
	"wharf/internal/upstream"
)

// dockerHubHosts are the names of Docker Hub's registry, where a
// single-component name means library/<name>.
var dockerHubHosts = map[string]bool{"registry-1.docker.io": true, "index.docker.io": true, "docker.io": true}

// UpstreamClient builds the client of one proxy upstream (proxy.upstreams[i]),
// reading its password file: what wharf serve's cache and wharf mirror
// status share. u has its defaults.
func UpstreamClient(i int, u config.Upstream) (*upstream.Client, error) {
	password := u.Password
	if u.PasswordFile != "" {
		b, err := os.ReadFile(u.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("proxy.upstreams[%d].password_file: %w", i, err)
		}
		password = auth.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	c, err := upstream.New(upstream.Options{URL: u.URL, Username: u.Username, Password: password,
		CAFile: u.CAFile, InsecureSkipVerify: u.InsecureSkipVerify, Timeout: u.Timeout.Std(),
		UserAgent: "wharf/" + buildinfo.Version()})
	if err != nil {
		return nil, fmt.Errorf("proxy.upstreams[%d]: %w", i, err)
	}
	return c, nil
}

// IsDockerHub reports whether u is Docker Hub, where single-component
// names mean library/<name>.
func IsDockerHub(u config.Upstream) bool {
	pu, err := url.Parse(u.URL)
	return err == nil && dockerHubHosts[pu.Hostname()]
}
