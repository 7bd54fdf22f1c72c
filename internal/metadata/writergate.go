package metadata

import "context"

// writerGate lets one writing statement or transaction of this process at
// a time reach SQLite, which has one writer per database file anyway.
//
// Without it, a writer that finds the file locked by another of the
// process's connections is left to SQLite's busy handler, which sleeps 1,
// 2, 5, 10… ms between attempts, however soon the lock is released. A
// group commit holds the lock through its fsync, so every upload session
// opened meanwhile (its own short write on the second pool) slept: with 8
// clients pushing small images, a POST took 6 ms on average, 30 % of them
// 5 ms or more. Waiting here instead, a writer goes as soon as the one
// before it is done. Other processes on the same file (a CLI command next
// to the server) still meet the busy handler.
//
// The zero value admits everyone: PostgreSQL and MySQL have row locks and
// many writers.
type writerGate chan struct{}

func newWriterGate() writerGate { return make(writerGate, 1) }

// enter waits for the writer before this one to leave, or for ctx. A
// free gate admits at once, even with ctx done (the database call that
// follows checks ctx).
func (g writerGate) enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g <- struct{}{}:
		return nil
	default:
	}
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave lets the next writer in; only after enter returned nil.
func (g writerGate) leave() {
	if g != nil {
		<-g
	}
}
