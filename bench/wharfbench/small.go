package wharfbench

import (
	"context"
	"fmt"
	"time"
)

const (
	smallRepo = "bench/small/r%d/i%05d" // round, image
	authRepo  = "bench/auth/i%05d"      // image
)

// smallImageSet makes n images of three random layers of size bytes each;
// seed picks their content, so every set is new to the servers.
func smallImageSet(n int, size int64, seed uint64) []image {
	ims := make([]image, n)
	for i := range ims {
		s := seed<<20 + uint64(i)<<2
		ims[i] = newImage(randomBytes(size, s), randomBytes(size, s+1), randomBytes(size, s+2))
	}
	return ims
}

// smallImages pushes opts.SmallImages new images into a repository each,
// from opts.SmallClients clients (blob HEAD, POST+PUT of missing blobs,
// manifest PUT, as docker and crane do), then pulls them all back (manifest
// by tag, config and layers) once and smallWarmPulls times more, and
// reports images per second of the push, the first pull and the others.
func smallImages(ctx context.Context, t *target, round int) ([]float64, error) {
	o := t.opts
	ims := smallImageSet(o.SmallImages, o.SmallLayer, uint64(100+round))
	start := time.Now()
	err := parallel(ctx, o.SmallClients, len(ims), func(ctx context.Context, i int) error {
		return pushImageChecked(ctx, t.c, t.url, fmt.Sprintf(smallRepo, round, i), ims[i], "v1")
	})
	if err != nil {
		return nil, fmt.Errorf("small images push: %w", err)
	}
	push := time.Since(start)
	pull, err := pullSmall(ctx, t, round, ims)
	if err != nil {
		return nil, err
	}
	var warm float64
	for range smallWarmPulls {
		took, err := pullSmall(ctx, t, round, ims)
		if err != nil {
			return nil, err
		}
		warm += took
	}
	n := float64(len(ims))
	return []float64{n / push.Seconds(), n / pull, n * smallWarmPulls / warm}, nil
}

// smallWarmPulls is how many more times the small images are pulled after
// their first pull: CI runners and nodes pull the same tags over and over,
// which is what a registry's read caches are for (the first pull reads
// every manifest and link from the database).
const smallWarmPulls = 5

// pullSmall pulls ims, which smallImages pushed in round, from
// opts.SmallClients clients and returns how long it took, in seconds.
func pullSmall(ctx context.Context, t *target, round int, ims []image) (float64, error) {
	start := time.Now()
	err := parallel(ctx, t.opts.SmallClients, len(ims), func(ctx context.Context, i int) error {
		return pullImage(ctx, t.c, t.url, fmt.Sprintf(smallRepo, round, i), ims[i], "v1")
	})
	if err != nil {
		return 0, fmt.Errorf("small images pull: %w", err)
	}
	return time.Since(start).Seconds(), nil
}

// smallPullsAgain pulls the images smallImages pushed in the last round
// once more: a profile of smallImages itself would be mostly of the
// pushes, which take ten times longer.
func smallPullsAgain(ctx context.Context, t *target, _ int) ([]float64, error) {
	o := t.opts
	round := o.Rounds - 1
	ims := smallImageSet(o.SmallImages, o.SmallLayer, uint64(100+round))
	took, err := pullSmall(ctx, t, round, ims)
	if err != nil {
		return nil, err
	}
	return []float64{float64(len(ims)) / took}, nil
}

// setupAuth pushes what the token-auth pulls read, with a push token per
// image: the small images and, when the run has one, the pull blob.
func setupAuth(ctx context.Context, t *target) error {
	o := t.opts
	if t.blob != nil {
		tok, err := t.auth.token(ctx, t.c, "repository:"+pullRepo+":pull,push")
		if err != nil {
			return err
		}
		if err := pushBlob(withBearer(ctx, tok), t.c, t.auth.registry.url, pullRepo, t.blob, digestOf(t.blob)); err != nil {
			return fmt.Errorf("set-up: pull blob: %w", err)
		}
	}
	t.authImages = smallImageSet(o.SmallImages, o.SmallLayer, 99)
	return parallel(ctx, o.SmallClients, len(t.authImages), func(ctx context.Context, i int) error {
		repo := fmt.Sprintf(authRepo, i)
		tok, err := t.auth.token(ctx, t.c, "repository:"+repo+":pull,push")
		if err != nil {
			return err
		}
		return pushImageChecked(withBearer(ctx, tok), t.c, t.auth.registry.url, repo, t.authImages[i], "v1")
	})
}

// smallImagesAuth is smallImages' pull with token auth on: each image asks
// the token server for a pull token first, as `docker pull` does, and every
// request carries it, so the registry verifies it every time.
func smallImagesAuth(ctx context.Context, t *target, _ int) ([]float64, error) {
	start := time.Now()
	err := parallel(ctx, t.opts.SmallClients, len(t.authImages), func(ctx context.Context, i int) error {
		repo := fmt.Sprintf(authRepo, i)
		tok, err := t.auth.token(ctx, t.c, "repository:"+repo+":pull")
		if err != nil {
			return err
		}
		return pullImage(withBearer(ctx, tok), t.c, t.auth.registry.url, repo, t.authImages[i], "v1")
	})
	if err != nil {
		return nil, fmt.Errorf("small images pull with token auth: %w", err)
	}
	return []float64{float64(len(t.authImages)) / time.Since(start).Seconds()}, nil
}
