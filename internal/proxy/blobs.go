package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/errcode"
	"wharf/internal/registry"
)

// Stream is a blob read from the upstream, as it arrives.
type Stream struct {
	// Size is the blob's length, -1 when the upstream did not say.
	Size int64
	// Body yields the bytes; nil for a HEAD. It ends with an error, one
	// byte short of the whole blob, when the download fails or the bytes
	// do not hash to the digest: a client never receives a whole blob
	// that is not the one it asked for.
	Body io.ReadCloser
}

// ReadSeeker returns Body as an io.ReadSeeker over the blob's Size bytes,
// for a Range request answered while the download goes on: a read waits
// until the bytes it asks for have arrived (the blob's last byte until its
// digest is checked, as for Body), so a range is served from the spool
// without a download of its own. nil when the size is unknown (the whole
// blob is served then) or for a HEAD.
func (s *Stream) ReadSeeker() io.ReadSeeker {
	r, ok := s.Body.(*reader)
	if !ok || s.Size < 0 {
		return nil
	}
	return r
}

// Blob answers a pull of a blob name's registry does not hold: nil (and
// no error) when name is not a proxy repository or when the blob could be
// linked from what the registry already holds — then the caller serves it
// as any other. For a GET (withBody) the Stream reads the one download of
// the blob that concurrent pulls share; the blob is in the registry once
// the download ends.
//
// Through the mirror, only a repository it holds a manifest of fetches
// blobs: a client reads a manifest first, and a name that is not claimed
// yet stays free for a push.
func (c *Cache) Blob(ctx context.Context, name string, dgst digest.Digest, withBody bool) (*Stream, error) {
	u, remote, fresh, ok, err := c.route(ctx, name)
	if err != nil || !ok || fresh {
		return nil, err
	}
	key := blobKey(name, dgst)
	c.blobsMu.Lock()
	d := c.downloads[key]
	if d != nil && withBody {
		d.join()
	}
	c.blobsMu.Unlock()
	if d == nil {
		held, err := c.reg.HoldsBlob(ctx, dgst)
		if err != nil {
			return nil, err
		}
		// The bytes may be in the registry already (another repository,
		// another upstream's copy of the same layer): they are linked
		// when a manifest the upstream served for this repository names
		// them, or once the upstream confirms it serves them here, so
		// that a cache never hands out what the upstream would not.
		if held {
			referenced, err := c.reg.Referenced(ctx, name, dgst)
			if err != nil {
				return nil, err
			}
			if referenced {
				if linked, err := c.link(ctx, name, dgst); linked || err != nil {
					return nil, err
				}
			}
		}
		if held || !withBody {
			// A HEAD is answered with the upstream's size.
			size, err := u.Client.HeadBlob(ctx, remote, dgst)
			if err != nil {
				return nil, c.answer(ctx, u, name, remote+"@"+dgst.String(), err, errcode.BlobUnknown)
			}
			if held {
				if linked, err := c.link(ctx, name, dgst); linked || err != nil {
					return nil, err
				}
			}
			if !withBody {
				return &Stream{Size: size}, nil
			}
		}
		c.blobsMu.Lock()
		if d = c.downloads[key]; d == nil {
			var err error
			if d, err = c.start(u, name, remote, dgst); err != nil {
				c.blobsMu.Unlock()
				return nil, err
			}
			c.downloads[key] = d
		}
		d.join()
		c.blobsMu.Unlock()
	}
	if !withBody {
		return &Stream{Size: d.sizeWhenKnown(ctx)}, nil
	}
	size, err := d.waitStarted(ctx)
	if err != nil {
		d.leave()
		return nil, c.answer(ctx, u, name, remote+"@"+dgst.String(), err, errcode.BlobUnknown)
	}
	return &Stream{Size: size, Body: &reader{d: d}}, nil
}

// link links a blob the registry holds into name: false when it turned
// out to hold none (collected meanwhile).
func (c *Cache) link(ctx context.Context, name string, dgst digest.Digest) (bool, error) {
	_, err := c.reg.LinkCachedBlob(ctx, name, dgst)
	if errors.Is(err, registry.ErrBlobUnknown) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.stats.hits.Add(1)
	return true, nil
}

// download is one upstream GET of a blob, spooled to an unlinked file that
// its readers read as it grows.
type download struct {
	file *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	started bool  // the upstream answered (or failed to)
	size    int64 // announced, -1 when not
	written int64
	done    bool
	err     error
	refs    int // the downloader and each reader
}

// start begins the download of dgst into name; c.blobsMu is held.
func (c *Cache) start(u *Upstream, name, remote string, dgst digest.Digest) (*download, error) {
	f, err := os.CreateTemp(c.opts.SpoolDir, "wharf-proxy-*")
	if err != nil {
		return nil, fmt.Errorf("proxy: spool: %w", err)
	}
	// Unlinked at once: the open file is all the readers need, and a crash
	// leaves nothing behind.
	_ = os.Remove(f.Name())
	d := &download{file: f, size: -1, refs: 1}
	d.cond = sync.NewCond(&d.mu)
	c.stats.blobs.Add(1)
	go c.run(u, name, remote, dgst, d)
	return d, nil
}

// run downloads the blob, independent of any one client's request: the
// others keep reading when the first goes away.
func (c *Cache) run(u *Upstream, name, remote string, dgst digest.Digest, d *download) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer d.leave()
	body, size, err := u.Client.GetBlob(ctx, remote, dgst)
	d.mu.Lock()
	d.started, d.size = true, size
	d.cond.Broadcast()
	d.mu.Unlock()
	if err == nil {
		idle := time.AfterFunc(c.opts.IdleTimeout, cancel)
		_, err = c.reg.FetchBlob(ctx, name, dgst, size, &spooler{d: d, src: body, idle: idle, after: c.opts.IdleTimeout})
		idle.Stop()
		_ = body.Close()
		if err == nil {
			c.log.Info("blob fetched from upstream", "repo", name, "digest", dgst, "upstream", u.Client.Host(), "size", d.written)
		} else {
			c.log.Warn("blob download failed; nothing was stored", "repo", name, "digest", dgst, "upstream", u.Client.Host(), "err", err)
		}
	}
	// Out of the map first, then done: a pull that finds no download
	// finds the committed blob.
	c.blobsMu.Lock()
	delete(c.downloads, blobKey(name, dgst))
	c.blobsMu.Unlock()
	d.mu.Lock()
	d.done, d.err = true, err
	d.cond.Broadcast()
	d.mu.Unlock()
}

func (d *download) join() {
	d.mu.Lock()
	d.refs++
	d.mu.Unlock()
}

// leave drops a reference; the last one closes the spool.
func (d *download) leave() {
	d.mu.Lock()
	d.refs--
	last := d.refs == 0
	d.mu.Unlock()
	if last {
		_ = d.file.Close()
	}
}

// waitStarted waits for the upstream's answer and returns the size.
func (d *download) waitStarted(ctx context.Context) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for !d.started && !d.done {
		d.cond.Wait()
	}
	if d.done && d.err != nil && d.written == 0 {
		return 0, d.err
	}
	return d.size, ctx.Err()
}

// sizeWhenKnown is the announced size, once the upstream answered.
func (d *download) sizeWhenKnown(ctx context.Context) int64 {
	n, _ := d.waitStarted(ctx)
	return n
}

// spooler is the upstream body on its way into the registry: each read's
// bytes go to the spool first, for the readers.
type spooler struct {
	d     *download
	src   io.Reader
	idle  *time.Timer
	after time.Duration
}

func (s *spooler) Read(p []byte) (int, error) {
	n, err := s.src.Read(p)
	if n > 0 {
		s.idle.Reset(s.after)
		if _, werr := s.d.file.WriteAt(p[:n], s.d.written); werr != nil {
			return 0, fmt.Errorf("proxy: spool: %w", werr)
		}
		s.d.mu.Lock()
		s.d.written += int64(n)
		s.d.cond.Broadcast()
		s.d.mu.Unlock()
	}
	return n, err
}

// reader is one client's view of a download.
type reader struct {
	d      *download
	off    int64
	closed bool
}

func (r *reader) Read(p []byte) (int, error) {
	d := r.d
	d.mu.Lock()
	var avail int64
	for {
		avail = d.written
		if !d.done || d.err != nil {
			// The last byte waits for the digest's check.
			avail--
		}
		if r.off < avail || d.done {
			break
		}
		d.cond.Wait()
	}
	done, err := d.done, d.err
	d.mu.Unlock()
	if r.off >= avail {
		if done && err != nil {
			return 0, fmt.Errorf("proxy: the upstream download failed: %w", err)
		}
		return 0, io.EOF
	}
	n := int64(len(p))
	if rest := avail - r.off; rest < n {
		n = rest
	}
	m, rerr := d.file.ReadAt(p[:n], r.off)
	r.off += int64(m)
	if rerr == io.EOF && m > 0 {
		rerr = nil
	}
	return m, rerr
}

// Seek moves the offset of the next Read; io.SeekEnd counts from the
// announced size (Stream.ReadSeeker hands a reader out only when there is
// one).
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		r.d.mu.Lock()
		offset += r.d.size
		r.d.mu.Unlock()
	}
	if offset < 0 {
		return 0, errors.New("proxy: seek before the blob's start")
	}
	r.off = offset
	return offset, nil
}

func (r *reader) Close() error {
	if !r.closed {
		r.closed = true
		r.d.leave()
	}
	return nil
}
