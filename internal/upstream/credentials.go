package upstream

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"

	"wharf/internal/auth"
)

// Credential is what the client authenticates with at its upstream; a
// zero one is anonymous.
type Credential struct {
	Username string
	Password auth.Secret
}

// dynamicAuth asks its function for the credentials each time the
// transport needs them: at a token request (the first of a repository,
// and after the upstream refused a token) and at every Basic request.
type dynamicAuth func(ctx context.Context) (Credential, error)

var _ authn.ContextAuthenticator = dynamicAuth(nil)

func (d dynamicAuth) Authorization() (*authn.AuthConfig, error) {
	return d.AuthorizationContext(context.Background())
}

func (d dynamicAuth) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	c, err := d(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	if c.Username == "" {
		return &authn.AuthConfig{}, nil
	}
	return &authn.AuthConfig{Username: c.Username, Password: c.Password.Reveal()}, nil
}
