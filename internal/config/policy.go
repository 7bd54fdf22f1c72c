package config

import (
	"fmt"
	"path"
	"time"
)

// Retention is retention: — which tags and untagged manifests a run of
// `wharf retention` (or the schedule in wharf serve) removes. Blobs are
// freed by garbage collection afterwards.
type Retention struct {
	// Interval runs retention inside wharf serve this often (0: never;
	// otherwise at least a minute).
	Interval Duration `yaml:"interval"`
	// Policies are tried in order; a repository follows the first whose
	// repositories pattern matches it, and none when no pattern does.
	Policies []RetentionPolicy `yaml:"policies"`
}

// RetentionPolicy is one entry of retention.policies.
type RetentionPolicy struct {
	// Repositories is a glob in the ACL's syntax ("*" stops at "/").
	Repositories string `yaml:"repositories"`
	// Tags is a glob naming the tags the policy may remove (default "*");
	// other tags are left alone.
	Tags string `yaml:"tags"`
	// KeepLast keeps the newest N of those tags by push time.
	KeepLast int `yaml:"keep_last"`
	// KeepWithin keeps those pushed or pulled within this long.
	KeepWithin Duration `yaml:"keep_within"`
	// KeepTags are globs of tags always kept.
	KeepTags []string `yaml:"keep_tags"`
	// UntaggedAfter deletes manifests that no tag, index or kept manifest
	// needs once neither pushed nor pulled for this long (0: never).
	UntaggedAfter Duration `yaml:"untagged_after"`
}

// ImmutableTags is one entry of immutable_tags: the tags matching Tags in
// the repositories matching Repositories (both globs in the ACL's syntax)
// can be pushed once and never moved or deleted.
type ImmutableTags struct {
	Repositories string `yaml:"repositories"`
	Tags         string `yaml:"tags"`
}

// String names the rule in messages, as it is written in wharf.yml.
func (r ImmutableTags) String() string {
	return fmt.Sprintf("{repositories: %q, tags: %q}", r.Repositories, r.Tags)
}

// minRetentionInterval keeps a typo ("24" for "24h") from running
// retention every few seconds.
const minRetentionInterval = time.Minute

// validatePolicies checks retention: and immutable_tags:. Its list may
// hold nils (valid entries), which errors.Join drops.
func (c Config) validatePolicies() []error {
	var errs []error
	if iv := c.Retention.Interval.Std(); iv < 0 || (iv > 0 && iv < minRetentionInterval) {
		errs = append(errs, fmt.Errorf("retention.interval: %s is too short; give 0 (off) or at least 1m, for example \"24h\"", iv))
	}
	for i, p := range c.Retention.Policies {
		key := fmt.Sprintf("retention.policies[%d]", i)
		errs = append(errs, checkGlob(key+".repositories", p.Repositories, true))
		errs = append(errs, checkGlob(key+".tags", p.Tags, false))
		for j, k := range p.KeepTags {
			errs = append(errs, checkGlob(fmt.Sprintf("%s.keep_tags[%d]", key, j), k, true))
		}
		if p.KeepLast < 0 || p.KeepWithin < 0 || p.UntaggedAfter < 0 {
			errs = append(errs, fmt.Errorf("%s: keep_last, keep_within and untagged_after must not be negative", key))
		}
		if p.KeepLast == 0 && p.KeepWithin == 0 && p.UntaggedAfter == 0 {
			errs = append(errs, fmt.Errorf("%s: removes nothing; give keep_last, keep_within or untagged_after (tags are removed only past keep_last or keep_within)", key))
		}
	}
	for i, r := range c.ImmutableTags {
		key := fmt.Sprintf("immutable_tags[%d]", i)
		errs = append(errs, checkGlob(key+".repositories", r.Repositories, true))
		errs = append(errs, checkGlob(key+".tags", r.Tags, true))
	}
	return errs
}

// checkGlob returns nil for a valid pattern (an empty one too unless
// required).
func checkGlob(key, pattern string, required bool) error {
	if pattern == "" {
		if required {
			return fmt.Errorf("%s: must not be empty (a glob such as \"team/*\")", key)
		}
		return nil
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return fmt.Errorf("%s: %q is not a valid glob (%w); * ? [a-z] and \\ escapes are allowed", key, pattern, err)
	}
	return nil
}
