package metadata

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
)

// PullFlushInterval is how often recorded pulls are written: the pull
// times retention reads lag by at most this much.
const PullFlushInterval = 5 * time.Second

// maxPendingPulls bounds the pulls held between two flushes: one entry per
// distinct (repository, tag, digest), so a busy registry pulling the same
// images holds few. Past it, new keys wait for the next flush (see
// pullRecorder.record).
const maxPendingPulls = 1 << 16

// pullsPerTx bounds the updates one flush transaction carries.
const pullsPerTx = 256

type pullKey struct {
	repo, tag string
	dgst      digest.Digest
}

// pullRecorder keeps the last pull time of each manifest and tag in
// memory and writes them every PullFlushInterval in a few transactions:
// a manifest GET costs a map update under a mutex, never a database write.
type pullRecorder struct {
	s       *Store
	mu      sync.Mutex
	pending map[pullKey]int64
	dropped atomic.Int64
	kick    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

func newPullRecorder(s *Store) *pullRecorder {
	p := &pullRecorder{s: s, pending: map[pullKey]int64{}, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	p.wg.Go(p.loop)
	return p
}

// RecordPull notes that the manifest dgst of repo was pulled now, by tag
// when tag is not empty. It never blocks on the database: the time is
// written with the next flush (every PullFlushInterval, and on Close).
func (s *Store) RecordPull(repo, tag string, dgst digest.Digest) {
	s.pulls.record(pullKey{repo: repo, tag: tag, dgst: dgst}, unixNano(time.Now()))
}

// FlushPulls writes the pulls recorded so far.
func (s *Store) FlushPulls(ctx context.Context) error { return s.pulls.flush(ctx) }

func (p *pullRecorder) record(k pullKey, now int64) {
	p.mu.Lock()
	_, known := p.pending[k]
	full := !known && len(p.pending) >= maxPendingPulls
	if !full {
		p.pending[k] = now
	}
	half := len(p.pending) >= maxPendingPulls/2
	p.mu.Unlock()
	if full {
		// A pull time is a hint for retention, not a record of every
		// pull: losing one of 65,536 distinct keys until the next flush
		// costs less than making a pull wait for the database.
		p.dropped.Add(1)
	}
	if half {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

func (p *pullRecorder) loop() {
	t := time.NewTicker(PullFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		case <-p.kick:
		}
		if err := p.flush(context.Background()); err != nil {
			p.s.log.Warn("recording pull times failed; they are retried with the next flush", "err", err)
		}
	}
}

// flush writes the pending pulls. Entries that fail stay pending (unless a
// newer pull replaced them), so a database outage delays pull times but
// loses none that fit in memory.
func (p *pullRecorder) flush(ctx context.Context) error {
	p.mu.Lock()
	batch := p.pending
	p.pending = make(map[pullKey]int64, len(batch))
	p.mu.Unlock()
	if n := p.dropped.Swap(0); n > 0 {
		p.s.log.Warn("pull times not recorded: too many distinct manifests pulled between two flushes", "dropped", n)
	}
	keys := make([]pullKey, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	for start := 0; start < len(keys); start += pullsPerTx {
		chunk := keys[start:min(start+pullsPerTx, len(keys))]
		err := p.s.inTx(ctx, func(c conn) error {
			for _, k := range chunk {
				if err := writePull(ctx, c, k, batch[k]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			p.requeue(keys[start:], batch)
			return wrap("record pulls", err)
		}
	}
	return nil
}

// requeue puts back what a failed flush did not write.
func (p *pullRecorder) requeue(keys []pullKey, batch map[pullKey]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		if _, newer := p.pending[k]; !newer && len(p.pending) < maxPendingPulls {
			p.pending[k] = batch[k]
		}
	}
}

// writePull moves the pull times forward only: flushes of two replicas
// may arrive in any order.
func writePull(ctx context.Context, c conn, k pullKey, at int64) error {
	if _, err := c.exec(ctx, `UPDATE manifests SET pulled_at = ?
WHERE digest = ? AND pulled_at < ? AND repository_id = (SELECT id FROM repositories WHERE name = ?)`,
		at, k.dgst.String(), at, k.repo); err != nil {
		return err
	}
	if k.tag == "" {
		return nil
	}
	_, err := c.exec(ctx, `UPDATE tags SET pulled_at = ?
WHERE name = ? AND pulled_at < ? AND repository_id = (SELECT id FROM repositories WHERE name = ?)`,
		at, k.tag, at, k.repo)
	return err
}

// close writes what is pending and stops the flushes.
func (p *pullRecorder) close() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if err := p.flush(context.Background()); err != nil {
			p.s.log.Warn("recording pull times on close failed", "err", err)
		}
	})
}
