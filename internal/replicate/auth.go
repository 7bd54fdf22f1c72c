package replicate

import (
	"fmt"
	"os"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// AuthFile is the keychain of a docker config.json file (the format docker
// login writes, and skopeo's --authfile reads): its auths entries and
// credential helpers. An empty path is docker's own keychain
// ($DOCKER_CONFIG/config.json, then ~/.docker/config.json), as crane and
// regctl use.
func AuthFile(path string) (authn.Keychain, error) {
	if path == "" {
		return authn.DefaultKeychain, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replicate: credentials file: %w", err)
	}
	defer f.Close()
	cf, err := config.LoadFromReader(f)
	if err != nil {
		// The loader's message may quote the file; say only where.
		return nil, fmt.Errorf("replicate: credentials file %s is not a docker config.json (an object with \"auths\")", path)
	}
	cf.Filename = path
	return fileKeychain{cf}, nil
}

type fileKeychain struct{ cf *configfile.ConfigFile }

func (k fileKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	key := r.RegistryStr()
	if key == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	ac, err := k.cf.GetAuthConfig(key)
	if err != nil {
		return nil, fmt.Errorf("replicate: credentials of %s: %w", r.RegistryStr(), err)
	}
	if ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "" && ac.RegistryToken == "" {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken,
	}), nil
}
