package authstack

import (
	"log/slog"

	"wharf/internal/config"
	"wharf/internal/metadata"
	"wharf/internal/retention"
)

// ImmutableRules translates immutable_tags: for the retention package,
// which turns them into the metadata store's tag guard (OpenMetadata
// installs it, so every process that writes tags honours the rules).
func ImmutableRules(cfg config.Config) []retention.ImmutableRule {
	out := make([]retention.ImmutableRule, 0, len(cfg.ImmutableTags))
	for _, r := range cfg.ImmutableTags {
		out = append(out, retention.ImmutableRule{Repositories: r.Repositories, Tags: r.Tags, Name: r.String()})
	}
	return out
}

// RetentionPolicies translates retention.policies.
func RetentionPolicies(cfg config.Config) []retention.Policy {
	out := make([]retention.Policy, 0, len(cfg.Retention.Policies))
	for _, p := range cfg.Retention.Policies {
		out = append(out, retention.Policy{
			Repositories: p.Repositories, Tags: p.Tags, KeepLast: p.KeepLast, KeepWithin: p.KeepWithin.Std(),
			KeepTags: p.KeepTags, UntaggedAfter: p.UntaggedAfter.Std(),
		})
	}
	return out
}

// NewRetention returns the runner of cfg's retention policies over meta,
// the one `wharf retention`, the admin API and the schedule in wharf serve
// share.
func NewRetention(cfg config.Config, meta *metadata.Store, log *slog.Logger) *retention.Runner {
	return &retention.Runner{Meta: meta, Policies: RetentionPolicies(cfg), Cache: CacheRules(cfg),
		Immutable: retention.Immutable(retention.Guard(ImmutableRules(cfg))), ReadOnly: cfg.ReadOnly,
		Log: log.With("component", "retention")}
}

// CacheRules are the upstreams' max_size and evict_after, which retention
// applies to the repositories the pull-through cache filled: one rule per
// upstream (those without limits too, so that each cached repository is
// matched to its own upstream), none when no upstream has a limit.
func CacheRules(cfg config.Config) []retention.CacheRule {
	var out []retention.CacheRule
	limited := false
	for _, u := range cfg.Proxy.Upstreams {
		u = u.WithDefaults()
		limited = limited || u.MaxSize > 0 || u.EvictAfter > 0
		out = append(out, retention.CacheRule{Prefix: u.Prefix, MaxSize: int64(u.MaxSize), EvictAfter: u.EvictAfter.Std()})
	}
	if !limited {
		return nil
	}
	return out
}
