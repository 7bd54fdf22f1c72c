package replicate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrDigestMismatch is a destination that answers another digest than the
// source's for the manifest just copied.
var ErrDigestMismatch = errors.New("replicate: digest mismatch")

// Options configure one copy.
type Options struct {
	// SrcAuth and DstAuth give each end's credentials; nil is anonymous.
	// They are separate so that the source's secret is never sent to the
	// destination.
	SrcAuth, DstAuth authn.Keychain
	// Transport carries both ends' requests (nil: http.DefaultTransport);
	// SrcTransport and DstTransport, when set, one end's (InProcess for
	// this registry).
	Transport, SrcTransport, DstTransport http.RoundTripper
	// NoReferrers skips signatures, SBOMs and other referrers.
	NoReferrers bool
	// Jobs is the number of blobs sent at once (0: 4).
	Jobs int
	// Progress, if set, is called with the bytes done and known so far;
	// calls do not overlap.
	Progress func(Progress)
	// Log receives one line per manifest copied (nil: discard).
	Log *slog.Logger
}

// Progress is a copy's advance.
type Progress struct {
	Done, Total int64
}

// Result says what a copy did, from the destination's answers.
type Result struct {
	// Digest is the source manifest's digest, which the destination now
	// answers for the copied reference.
	Digest string `json:"digest"`
	// Manifests counts the manifests written (index, platforms,
	// referrers), Referrers those that were referrers or cosign tags.
	Manifests int `json:"manifests"`
	Referrers int `json:"referrers"`
	// BlobsSent counts blobs uploaded, BlobsMounted those mounted from
	// another repository of the destination, BlobsSkipped those the
	// destination already had.
	BlobsSent    int   `json:"blobs_sent"`
	BlobsMounted int   `json:"blobs_mounted"`
	BlobsSkipped int   `json:"blobs_skipped"`
	Bytes        int64 `json:"bytes"`
}

// Copy copies src (a tag or a digest) to dst, a reference of the same kind
// or a tag, with every platform of an index and, unless told otherwise,
// every referrer of each manifest copied.
func Copy(ctx context.Context, src, dst name.Reference, opts Options) (Result, error) {
	c := newCopier(ctx, opts)
	desc, err := remote.Get(src, c.srcOpts()...)
	if err != nil {
		return Result{}, fmt.Errorf("replicate: read %s: %w", src, err)
	}
	if err := c.put(ctx, desc, dst); err != nil {
		return c.result(desc), err
	}
	if err := c.verify(dst, desc.Digest); err != nil {
		return c.result(desc), err
	}
	if !opts.NoReferrers {
		if err := c.referrers(ctx, src.Context(), dst.Context(), desc); err != nil {
			return c.result(desc), err
		}
	}
	return c.result(desc), nil
}

// copier holds one copy's options and counters.
type copier struct {
	opts    Options
	ctx     context.Context
	wire    *wireCount
	mu      sync.Mutex
	done    int64 // bytes of finished writes
	written int
	refs    int
	tags    map[string][]string // source repository → its tags, listed once
}

func newCopier(ctx context.Context, opts Options) *copier {
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.SrcTransport == nil {
		opts.SrcTransport = opts.Transport
	}
	if opts.DstTransport == nil {
		opts.DstTransport = opts.Transport
	}
	if opts.SrcAuth == nil {
		opts.SrcAuth = anonymous{}
	}
	if opts.DstAuth == nil {
		opts.DstAuth = anonymous{}
	}
	if opts.Jobs <= 0 {
		opts.Jobs = 4
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &copier{opts: opts, ctx: ctx, wire: &wireCount{inner: opts.DstTransport}, tags: map[string][]string{}}
}

func (c *copier) srcOpts() []remote.Option {
	return []remote.Option{remote.WithContext(c.ctx), remote.WithAuthFromKeychain(c.opts.SrcAuth), remote.WithTransport(c.opts.SrcTransport)}
}

func (c *copier) dstOpts() []remote.Option {
	return []remote.Option{remote.WithContext(c.ctx), remote.WithAuthFromKeychain(c.opts.DstAuth), remote.WithTransport(c.wire), remote.WithJobs(c.opts.Jobs)}
}

func (c *copier) result(desc *remote.Descriptor) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Result{
		Digest: desc.Digest.String(), Manifests: c.written, Referrers: c.refs,
		BlobsSent: int(c.wire.sent.Load()), BlobsMounted: int(c.wire.mounted.Load()), BlobsSkipped: int(c.wire.skipped.Load()),
		Bytes: c.wire.bytes.Load(),
	}
}

// put writes one manifest (and, for an index, its children) and its blobs
// to dst, reporting progress.
func (c *copier) put(ctx context.Context, desc *remote.Descriptor, dst name.Reference) error {
	updates := make(chan v1.Update, 16)
	var last v1.Update
	var wg sync.WaitGroup
	wg.Go(func() {
		for u := range updates {
			last = u
			c.report(u)
		}
	})
	opts := append(c.dstOpts(), remote.WithProgress(updates))
	var err error
	children := 1
	if desc.MediaType.IsIndex() {
		var idx v1.ImageIndex
		if idx, err = desc.ImageIndex(); err == nil {
			if im, ierr := idx.IndexManifest(); ierr == nil {
				children += len(im.Manifests)
			}
			err = remote.WriteIndex(dst, idx, opts...)
		}
	} else if desc.MediaType.IsImage() {
		var img v1.Image
		if img, err = desc.Image(); err == nil {
			err = remote.Write(dst, img, opts...)
		}
	} else {
		// An artifact whose media type ggcr does not know: its manifest
		// and whatever blobs it lists are written as an image's.
		var img v1.Image
		if img, err = desc.Image(); err == nil {
			err = remote.Write(dst, img, opts...)
		}
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("replicate: write %s: %w", dst, err)
	}
	c.mu.Lock()
	c.done += last.Total
	c.written += children
	c.mu.Unlock()
	c.opts.Log.Info("copied", "to", dst.String(), "digest", desc.Digest.String(), "media_type", string(desc.MediaType))
	return nil
}

// report hands one write's update, added to the finished writes', to the
// caller.
func (c *copier) report(u v1.Update) {
	if c.opts.Progress == nil {
		return
	}
	c.mu.Lock()
	p := Progress{Done: c.done + u.Complete, Total: c.done + u.Total}
	c.mu.Unlock()
	c.opts.Progress(p)
}

// verify checks that the destination answers want for dst.
func (c *copier) verify(dst name.Reference, want v1.Hash) error {
	got, err := remote.Head(dst, c.dstOpts()...)
	if err != nil {
		return fmt.Errorf("replicate: check %s: %w", dst, err)
	}
	if got.Digest != want {
		return fmt.Errorf("%w: %s answers %s, the source %s", ErrDigestMismatch, dst, got.Digest, want)
	}
	return nil
}

// anonymous is a keychain without credentials.
type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

// wireCount counts the destination's answers about blobs: a HEAD that
// found one, a mount, an upload finished.
type wireCount struct {
	inner                  http.RoundTripper
	skipped, mounted, sent atomic.Int64
	bytes                  atomic.Int64
}

func (w *wireCount) RoundTrip(req *http.Request) (*http.Response, error) {
	if (req.Method == http.MethodPatch || req.Method == http.MethodPut) && req.Body != nil && strings.Contains(req.URL.Path, "/blobs/uploads/") {
		req.Body = &countingBody{ReadCloser: req.Body, n: &w.bytes}
	}
	res, err := w.inner.RoundTrip(req)
	if err != nil {
		return res, err
	}
	p := req.URL.Path
	switch {
	case req.Method == http.MethodHead && strings.Contains(p, "/blobs/sha256:") && res.StatusCode == http.StatusOK:
		w.skipped.Add(1)
	case req.Method == http.MethodPost && strings.Contains(p, "/blobs/uploads/") && req.URL.Query().Get("mount") != "" && res.StatusCode == http.StatusCreated:
		w.mounted.Add(1)
	case req.Method == http.MethodPut && strings.Contains(p, "/blobs/uploads/") && res.StatusCode == http.StatusCreated:
		w.sent.Add(1)
	}
	return res, nil
}

// countingBody adds the bytes read from a request body to n.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
