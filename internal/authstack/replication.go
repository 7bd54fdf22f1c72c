package authstack

import (
	"fmt"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"

	"wharf/internal/config"
	"wharf/internal/replicate"
)

// ReplicationSpecs translates replication.rules for the runner: each
// rule's other registry with its credentials (read from password_file),
// CA and transport, as proxy upstreams get theirs. wharf serve and wharf
// replication share it.
func ReplicationSpecs(cfg config.Config) ([]replicate.Spec, error) {
	var specs []replicate.Spec
	for i, r := range cfg.Replication.Rules {
		r = r.WithDefaults()
		c, err := UpstreamClient(i, config.Upstream{URL: r.URL, Username: r.Username, PasswordFile: r.PasswordFile,
			CAFile: r.CAFile, InsecureSkipVerify: r.InsecureSkipVerify}, nil)
		if err != nil {
			return nil, fmt.Errorf("replication.rules[%d] (%s): %w", i, r.Name, err)
		}
		u, err := url.Parse(r.URL)
		if err != nil {
			return nil, fmt.Errorf("replication.rules[%d].url: %w", i, err)
		}
		var opts []name.Option
		if u.Scheme == "http" {
			opts = append(opts, name.Insecure)
		}
		reg, err := name.NewRegistry(u.Host, opts...)
		if err != nil {
			return nil, fmt.Errorf("replication.rules[%d].url: %w", i, err)
		}
		specs = append(specs, replicate.Spec{
			Rule:   replicate.Rule{Name: r.Name, Pull: r.Direction == config.ReplicatePull, Repositories: r.Repositories, Tags: r.Tags, Prefix: r.Prefix},
			Remote: replicate.Remote{Registry: reg, Auth: c.Keychain(), Transport: c.Transport()},
			OnPush: *r.OnPush, Schedule: r.Schedule.Std(),
		})
	}
	return specs, nil
}
