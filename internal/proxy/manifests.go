package proxy

import (
	"context"
	"errors"
	"strings"

	"wharf/internal/errcode"
	"wharf/internal/registry"
	"wharf/internal/upstream"
)

// Manifest makes sure the registry holds what name's reference (a tag or
// a digest) means upstream, within the upstream's TTL, so that the caller
// serves it from the registry. A name no upstream serves is left alone.
// When the upstream fails and the cache holds the reference, the Result
// carries a Warning and the caller serves the cached one.
func (c *Cache) Manifest(ctx context.Context, name, ref string) (Result, error) {
	u, remote, _, ok, err := c.route(ctx, name)
	if err != nil || !ok {
		return Result{}, err
	}
	// One refresh of a reference at a time: a burst of pulls of a stale
	// tag sends one HEAD, and of a new one one GET.
	return c.manifests.do(ctx, name+":"+ref, func() (Result, error) {
		return c.manifest(context.WithoutCancel(ctx), u, name, remote, ref)
	})
}

func (c *Cache) manifest(ctx context.Context, u *Upstream, name, remote, ref string) (Result, error) {
	local, err := c.reg.LocalManifest(ctx, name, ref)
	if err != nil && !errors.Is(err, registry.ErrManifestUnknown) {
		return Result{}, err
	}
	cached := err == nil
	byDigest := strings.Contains(ref, ":")
	if cached && byDigest {
		c.stats.hits.Add(1)
		return Result{}, nil
	}
	key := name + ":" + ref
	if cached {
		if ck, ok := c.lastCheck(key); ok {
			if ck.warning != "" {
				c.stats.stale.Add(1)
				return Result{Warning: ck.warning}, nil
			}
			c.stats.hits.Add(1)
			return Result{}, nil
		}
		c.stats.revalidations.Add(1)
		head, err := u.Client.HeadManifest(ctx, remote, ref)
		if err != nil {
			return c.stale(ctx, u, name, ref, err)
		}
		if head.Digest == local {
			c.markChecked(key, u.TTL, "")
			return Result{}, nil
		}
		// The tag moved: fetch what it points at now, by digest, which
		// a digest check makes safe against a tag moving again meanwhile.
		if err := c.fetchManifest(ctx, u, name, remote, head.Digest.String(), ref); err != nil {
			return c.stale(ctx, u, name, ref, err)
		}
		c.markChecked(key, u.TTL, "")
		return Result{}, nil
	}
	tag := ""
	if !byDigest {
		tag = ref
	}
	if err := c.fetchManifest(ctx, u, name, remote, ref, tag); errors.Is(err, errLocal) {
		return Result{}, nil // served as the local repository it became
	} else if err != nil {
		return Result{}, c.answer(ctx, u, name, remote+":"+ref, err, errcode.ManifestUnknown)
	}
	if tag != "" {
		c.markChecked(key, u.TTL, "")
	}
	return Result{}, nil
}

// fetchManifest GETs remote's manifest ref and stores it in name under tag
// (when not "").
func (c *Cache) fetchManifest(ctx context.Context, u *Upstream, name, remote, ref, tag string) error {
	c.stats.manifests.Add(1)
	m, err := u.Client.GetManifest(ctx, remote, ref)
	if err != nil {
		return err
	}
	if err := c.claim(ctx, u, name); err != nil {
		return err
	}
	if err := c.reg.PutCachedManifest(ctx, name, tag, m.MediaType, m.Payload, m.Digest); err != nil {
		return err
	}
	c.log.InfoContext(ctx, "manifest fetched from upstream", "repo", name, "ref", ref, "digest", m.Digest, "upstream", u.Client.Host())
	return nil
}

// stale answers from the cache when the upstream failed to confirm a tag.
func (c *Cache) stale(ctx context.Context, u *Upstream, name, ref string, err error) (Result, error) {
	if !isUpstreamError(err) {
		return Result{}, err
	}
	c.stats.stale.Add(1)
	c.log.WarnContext(ctx, "upstream failed; serving the cached manifest", "repo", name, "ref", ref,
		"upstream", u.Client.Host(), "err", shortReason(err))
	warning := staleWarning(u.Client.Host(), err)
	c.markChecked(name+":"+ref, min(u.TTL, c.opts.StaleRetry), warning)
	return Result{Warning: warning}, nil
}

// isUpstreamError tells the upstream's failures (which the cache answers
// around) from the registry's own (which it reports).
func isUpstreamError(err error) bool {
	var se *upstream.StatusError
	return errors.As(err, &se) || errors.Is(err, upstream.ErrUnreachable) ||
		errors.Is(err, upstream.ErrDigestMismatch) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, upstream.ErrCredentials) ||
		errors.Is(err, registry.ErrManifestInvalid) || errors.Is(err, registry.ErrDigestInvalid)
}

// answer turns an upstream's failure to give what the cache does not hold
// into the OCI error the client sees, naming the upstream and its answer.
func (c *Cache) answer(ctx context.Context, u *Upstream, name, what string, err error, unknown errcode.Code) error {
	if !isUpstreamError(err) {
		return err
	}
	host := u.Client.Host()
	c.log.WarnContext(ctx, "upstream failed and the cache holds nothing to serve", "repo", name, "ref", what,
		"upstream", host, "err", shortReason(err))
	var se *upstream.StatusError
	switch {
	case upstream.NotFound(err):
		return errcode.Errorf(unknown, "%s is not in the cache, and upstream %s answered 404", what, host)
	case errors.As(err, &se) && se.Status == 429:
		e := errcode.Errorf(errcode.TooManyRequests, "%s is not in the cache, and upstream %s is rate-limiting pulls (429)", what, host)
		e.RetryAfter = int(se.RetryAfter.Seconds())
		return e
	case errors.As(err, &se):
		return errcode.Errorf(errcode.Unavailable, "%s is not in the cache, and upstream %s answered %d", what, host, se.Status)
	case errors.Is(err, registry.ErrManifestInvalid):
		return errcode.Errorf(errcode.ManifestInvalid, "upstream %s served a manifest for %s that Wharf cannot store: %s", host, what, strings.TrimPrefix(err.Error(), "registry: "))
	case errors.Is(err, upstream.ErrCredentials):
		return errcode.Errorf(errcode.Unavailable, "%s is not in the cache, and this server cannot read its credentials for upstream %s (its log says why)", what, host)
	case errors.Is(err, upstream.ErrDigestMismatch), errors.Is(err, registry.ErrDigestInvalid):
		return errcode.Errorf(errcode.Unavailable, "upstream %s served content for %s that does not match its digest", host, what)
	}
	return errcode.Errorf(errcode.Unavailable, "%s is not in the cache, and upstream %s cannot be reached", what, host)
}
