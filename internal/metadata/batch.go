package metadata

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// maxBatch bounds how many finished uploads one transaction records.
const maxBatch = 64

// errClosed answers commits sent after Close.
var errClosed = errors.New("metadata: store closed")

// uploadCommit is one CommitUpload waiting for its batch.
type uploadCommit struct {
	ctx      context.Context
	id, repo string
	dgst     digest.Digest
	size     int64
	now      int64
	done     chan error
}

// commitBatcher records finished uploads in shared transactions: a group
// commit. SQLite allows one writer at a time and its commit waits for an
// fsync, so pushes of many small blobs from several clients would queue
// for one fsync each; instead, the uploads that finish while one batch
// commits go together in the next, and each caller is answered once its
// batch is durable. A batch that fails is retried one upload per
// transaction, so one bad record fails only its own push.
type commitBatcher struct {
	s    *Store
	ch   chan *uploadCommit
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.RWMutex // held for reading while sending; Close takes it to stop
	shut bool
}

func newCommitBatcher(s *Store) *commitBatcher {
	b := &commitBatcher{s: s, ch: make(chan *uploadCommit, maxBatch), stop: make(chan struct{})}
	b.wg.Go(b.loop)
	return b
}

// commit queues c and waits for its batch.
func (b *commitBatcher) commit(c *uploadCommit) error {
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
		var first *uploadCommit
		select {
		case first = <-b.ch:
		case <-b.stop:
			// Answer what was queued before Close.
			for {
				select {
				case c := <-b.ch:
					b.run([]*uploadCommit{c})
				default:
					return
				}
			}
		}
		batch := []*uploadCommit{first}
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

// run records batch in one transaction, or each in its own when that fails.
func (b *commitBatcher) run(batch []*uploadCommit) {
	ctx := context.WithoutCancel(batch[0].ctx)
	err := b.s.inTx(ctx, func(c conn) error {
		for _, u := range batch {
			if err := recordUpload(ctx, c, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, u := range batch {
			u.done <- wrap("commit upload", err)
		}
		return
	}
	for _, u := range batch {
		u.done <- wrap("commit upload", b.s.inTx(ctx, func(c conn) error { return recordUpload(ctx, c, u) }))
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
func recordUpload(ctx context.Context, c conn, u *uploadCommit) error {
	if _, err := c.exec(ctx, c.d.insertIgnore("blobs", "digest, size, created_at", "digest"),
		u.dgst.String(), u.size, u.now); err != nil {
		return err
	}
	if err := link(ctx, c, u.repo, u.dgst, u.now); err != nil {
		return err
	}
	_, err := c.exec(ctx, "DELETE FROM uploads WHERE id = ?", u.id)
	return err
}

func newUploadCommit(ctx context.Context, id, repo string, dgst digest.Digest, size int64) *uploadCommit {
	return &uploadCommit{ctx: ctx, id: id, repo: repo, dgst: dgst, size: size, now: unixNano(time.Now()), done: make(chan error, 1)}
}
