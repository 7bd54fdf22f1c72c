package metadata

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/spans"
)

// maxBatch bounds how many writes one transaction carries.
const maxBatch = 64

// errClosed answers commits sent after Close.
var errClosed = errors.New("metadata: store closed")

// batchedWrite is one write (a finished upload, a manifest) waiting for
// its batch. fn must be safe to run twice: after a batch fails it runs
// again in a transaction of its own.
type batchedWrite struct {
	ctx  context.Context
	op   string // for errors: "commit upload", "put manifest"
	fn   func(ctx context.Context, c conn) error
	done chan error
	// span is the write's in its request's trace: from its queueing to
	// its batch's commit.
	span spans.Span
}

// commitBatcher runs the writes of a push in shared transactions: a group
// commit. SQLite allows one writer at a time and its commit waits for an
// fsync, so pushes of many small images from several clients would queue
// for one fsync per blob and per manifest; instead, the writes that arrive
// while one batch commits go together in the next, and each caller is
// answered once its batch is durable. A batch that fails is retried one
// write per transaction, so one bad write (a manifest naming an unknown
// blob, say) fails only its own request, with its own error.
type commitBatcher struct {
	s    *Store
	ch   chan *batchedWrite
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.RWMutex // held for reading while sending; Close takes it to stop
	shut bool
}

func newCommitBatcher(s *Store) *commitBatcher {
	b := &commitBatcher{s: s, ch: make(chan *batchedWrite, maxBatch), stop: make(chan struct{})}
	b.wg.Go(b.loop)
	return b
}

// commit runs fn in the next batch and waits until that batch is durable
// (or ctx ends: the batch may still run fn).
func (b *commitBatcher) commit(ctx context.Context, op string, fn func(ctx context.Context, c conn) error) (err error) {
	ctx, span := spans.Start(ctx, "db transaction")
	if span.Recording() {
		span.SetName(spans.Name("db", spans.Exported(), "db transaction"))
		span.SetString("db.system.name", b.s.d.system())
		defer func() { span.End(err) }()
	}
	c := &batchedWrite{ctx: ctx, op: op, fn: fn, done: make(chan error, 1), span: span}
	b.mu.RLock()
	if b.shut {
		b.mu.RUnlock()
		return errClosed
	}
	b.ch <- c
	b.mu.RUnlock()
	select {
	case err := <-c.done:
		return err
	case <-c.ctx.Done():
		// The batch may still record it: a blob committed to storage and
		// recorded is what a retry of the push would produce anyway.
		return c.ctx.Err()
	}
}

func (b *commitBatcher) loop() {
	for {
		var first *batchedWrite
		select {
		case first = <-b.ch:
		case <-b.stop:
			// Answer what was queued before Close.
			for {
				select {
				case c := <-b.ch:
					b.run([]*batchedWrite{c})
				default:
					return
				}
			}
		}
		batch := []*batchedWrite{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case c := <-b.ch:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		b.run(batch)
	}
}

// run runs batch in one transaction, or each write in its own when that
// fails.
func (b *commitBatcher) run(batch []*batchedWrite) {
	// The batch serves every write's request: each write's own span says
	// so, and the transaction is in none of their traces.
	ctx := spans.Without(context.WithoutCancel(batch[0].ctx))
	for _, w := range batch {
		w.span.SetInt("wharf.db.batch", int64(len(batch)))
	}
	err := b.s.inTx(ctx, func(c conn) error {
		for _, w := range batch {
			if err := w.fn(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, w := range batch {
			w.done <- wrap(w.op, err)
		}
		return
	}
	for _, w := range batch {
		w.done <- wrap(w.op, b.s.inTx(ctx, func(c conn) error { return w.fn(ctx, c) }))
	}
}

// close answers the queued commits and stops the batcher; later commits
// get errClosed.
func (b *commitBatcher) close() {
	b.mu.Lock()
	if b.shut {
		b.mu.Unlock()
		return
	}
	b.shut = true
	b.mu.Unlock()
	close(b.stop)
	b.wg.Wait()
}

// recordUpload is CommitUpload's work: the blob's row, its link to the
// repository, and the end of the upload session.
func recordUpload(id, repo string, dgst digest.Digest, size int64) func(ctx context.Context, c conn) error {
	now := unixNano(time.Now())
	return func(ctx context.Context, c conn) error {
		if _, err := c.exec(ctx, c.d.insertIgnore("blobs", "digest, size, created_at", "digest"),
			dgst.String(), size, now); err != nil {
			return err
		}
		if err := link(ctx, c, repo, dgst, now); err != nil {
			return err
		}
		_, err := c.exec(ctx, "DELETE FROM uploads WHERE id = ?", id)
		return err
	}
}
