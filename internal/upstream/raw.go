package upstream

import (
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Transport is the client's transport below the registry handshake: TLS
// with the configured CA, timeouts, the User-Agent and rate-limit
// recording. Replication hands it to go-containerregistry's remote
// package, which does the handshake itself.
func (c *Client) Transport() http.RoundTripper { return c.inner }

// Keychain answers the client's credentials for its upstream, and none
// for any other registry, so that they never reach another host.
func (c *Client) Keychain() authn.Keychain { return keychain{c} }

type keychain struct{ c *Client }

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.c.reg.RegistryStr() {
		return authn.Anonymous, nil
	}
	return k.c.auth, nil
}
