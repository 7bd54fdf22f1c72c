package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"wharf/internal/gate"
	"wharf/internal/metadata"
)

// Store is where records go; *metadata.Store is one.
type Store interface {
	InsertAudit(ctx context.Context, recs []metadata.AuditRecord) error
	DeleteAuditBefore(ctx context.Context, before time.Time, max int) (int, error)
}

// Options configure a Log. Zero values take the defaults.
type Options struct {
	Store Store
	Log   *slog.Logger
	// Queue is the most records waiting in memory (default 10000).
	Queue int
	// Batch is the most records one write takes (default 512: a power of
	// two is one INSERT statement, see metadata.InsertAudit).
	Batch int
	// Every is how long a record waits at most before it is written
	// (default a second): a batch is written when it is full or when
	// Every has passed, whichever comes first.
	Every time.Duration
	// Retention is how long a record is kept (default 90 days);
	// RetentionEvery how often older ones are deleted (default an hour).
	Retention, RetentionEvery time.Duration
	// Pulls says which pulls are recorded (none by default).
	Pulls Pulls
	// Fold is the window within which repeated pulls (same actor, address,
	// repository and target) fold into one row (default a minute; see
	// folder).
	Fold time.Duration
	// Turn, when set, tells whether this replica deletes the expired
	// records now (the job's lease in the database); nil: always.
	Turn func(ctx context.Context) (bool, error)
	Now  func() time.Time
}

// Pulls says which pulls are recorded.
type Pulls int

// The pulls recorded: none, manifest GETs (what every docker pull starts
// with; the layers it then fetches by digest are not recorded), or every
// manifest and blob GET.
const (
	PullsNone Pulls = iota
	PullsManifests
	PullsAll
)

// Defaults of Options.
const (
	DefaultQueue     = 10000
	DefaultBatch     = 512
	DefaultEvery     = time.Second
	DefaultRetention = 90 * 24 * time.Hour
	DefaultFold      = time.Minute
	// deleteBatch bounds one retention delete, so that it holds the table
	// briefly even after a long time without retention.
	deleteBatch = 1000
	// writeTimeout bounds one batch write; a batch that fails stays first
	// in line and is tried again.
	writeTimeout = 30 * time.Second
)

// Log is the audit log's writer: hooks add records, one goroutine writes
// them in batches. Its methods are safe for concurrent use.
type Log struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	q    queue
	kick chan struct{} // a batch is full
	// taken is the writer's buffer of entries taken from q; fold its
	// windows of repeated pulls.
	taken []entry
	fold  *folder

	dropped   atomic.Int64 // routine records dropped, for metrics
	lost      atomic.Int64 // other records dropped
	written   atomic.Int64
	dropLog   gate.Throttle
	failLog   gate.Throttle
	reported  int64 // dropped counts already logged (writer goroutine)
	reportedL int64

	stop    chan struct{}
	done    sync.WaitGroup
	closeMu sync.Once
}

// New starts a Log's writer and retention goroutines; Close stops them.
func New(opts Options) (*Log, error) {
	if opts.Store == nil || opts.Log == nil {
		return nil, errors.New("audit: store and log are required")
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.RetentionEvery <= 0 {
		opts.RetentionEvery = time.Hour
	}
	if opts.Fold <= 0 {
		opts.Fold = DefaultFold
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Log{
		opts: opts, log: opts.Log.With("component", "audit"),
		q: queue{max: opts.Queue}, fold: newFolder(opts.Fold, opts.Queue),
		kick: make(chan struct{}, 1), stop: make(chan struct{}),
		dropLog: gate.Throttle{Every: time.Minute}, failLog: gate.Throttle{Every: time.Minute},
	}
	l.done.Add(2)
	go l.writer()
	go l.retention()
	return l, nil
}

// Dropped returns how many routine records (pulls, successful logins) a
// full queue dropped since the start; Lost how many others it dropped
// when it held nothing but them. Written counts the records stored.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// Lost returns how many records other than routine ones were dropped.
func (l *Log) Lost() int64 { return l.lost.Load() }

// Written returns how many records were stored.
func (l *Log) Written() int64 { return l.written.Load() }

// add queues r. routine marks records that a full queue drops first.
func (l *Log) add(r metadata.AuditRecord, ev eventParts, routine bool) {
	if r.Time.IsZero() {
		r.Time = l.opts.Now()
	}
	l.mu.Lock()
	l.q.add(r, ev, routine)
	full := l.q.len() >= l.opts.Batch
	l.dropped.Store(l.q.droppedRoutine)
	l.lost.Store(l.q.droppedImportant)
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// writer writes a batch when one is full or Every has passed, and
// everything left when the Log closes.
func (l *Log) writer() {
	defer l.done.Done()
	t := time.NewTicker(l.opts.Every)
	defer t.Stop()
	var batch []metadata.AuditRecord
	for {
		select {
		case <-l.kick:
		case <-t.C:
		case <-l.stop:
			l.drain(batch)
			return
		}
		batch = l.flush(batch)
		l.reportDrops()
	}
}

// flush writes batches until the queue is empty and no fold window has
// ended, or a write fails; it returns the batch that failed (to be tried
// first next time) or nil.
func (l *Log) flush(batch []metadata.AuditRecord) []metadata.AuditRecord {
	for {
		if len(batch) == 0 {
			l.mu.Lock()
			l.taken = l.q.take(l.taken[:0], l.opts.Batch)
			l.mu.Unlock()
			batch = l.fold.rows(batch[:0], l.taken, l.opts.Now())
			clear(l.taken)
			if len(batch) == 0 {
				return nil
			}
		}
		if err := l.write(batch); err != nil {
			return batch
		}
		clear(batch)
		batch = batch[:0]
	}
}

// write stores batch, logging a failure at most once a minute.
func (l *Log) write(batch []metadata.AuditRecord) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	err := l.opts.Store.InsertAudit(ctx, batch)
	cancel()
	if err != nil {
		if l.failLog.Allow(l.opts.Now()) {
			l.log.Error("audit: writing records failed; they are kept in memory and tried again (logged at most once a minute)",
				"records", len(batch), "queued", l.queued(), "err", err,
				"fix", "check the database; while it fails, a full queue drops pulls first (audit.queue)")
		}
		return err
	}
	l.written.Add(int64(len(batch)))
	return nil
}

// drain writes everything queued at Close, and the pulls folding in
// windows that have not ended, giving up after a failed write so that a
// dead database does not hold the shutdown.
func (l *Log) drain(batch []metadata.AuditRecord) {
	rest := l.flush(batch)
	if len(rest) == 0 {
		if rest = l.fold.all(rest); len(rest) > 0 && l.write(rest) == nil {
			rest = nil
		}
	}
	if len(rest) > 0 {
		l.log.Error("audit: records not written at shutdown", "records", len(rest)+l.queued()+len(l.fold.all(nil)))
	}
	l.reportDrops()
}

func (l *Log) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.len()
}

// reportDrops logs, at most once a minute, how many records a full queue
// dropped since the last line.
func (l *Log) reportDrops() {
	d, lost := l.dropped.Load(), l.lost.Load()
	if d == l.reported && lost == l.reportedL {
		return
	}
	if !l.dropLog.Allow(l.opts.Now()) {
		return
	}
	l.log.Warn("audit: the queue was full; records dropped (logged at most once a minute)",
		"pulls_and_logins", d-l.reported, "others", lost-l.reportedL, "dropped_total", d+lost,
		"fix", "the database cannot keep up: check it, raise audit.queue, or set audit.pulls: false")
	l.reported, l.reportedL = d, lost
}

// retention deletes records older than Retention every RetentionEvery, in
// batches of deleteBatch.
func (l *Log) retention() {
	defer l.done.Done()
	t := time.NewTicker(l.opts.RetentionEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-l.stop:
			case <-ctx.Done():
			}
			cancel()
		}()
		if l.opts.Turn != nil {
			mine, err := l.opts.Turn(ctx)
			if err != nil && ctx.Err() == nil {
				l.log.Warn("audit: deleting old records skipped: cannot take its turn", "err", err)
			}
			if !mine {
				cancel()
				continue
			}
		}
		n, err := l.Expire(ctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			l.log.Error("audit: deleting old records failed; tried again later", "deleted", n, "err", err)
		case n > 0:
			l.log.Info("audit: old records deleted", "deleted", n, "older_than", l.opts.Retention.String())
		}
	}
}

// Expire deletes the records older than the retention, in bounded batches,
// and returns how many it deleted.
func (l *Log) Expire(ctx context.Context) (int, error) {
	before := l.opts.Now().Add(-l.opts.Retention)
	total := 0
	for {
		n, err := l.opts.Store.DeleteAuditBefore(ctx, before, deleteBatch)
		total += n
		if err != nil || n < deleteBatch {
			return total, err
		}
	}
}

// Close writes what is queued and stops the goroutines. ctx bounds the
// wait: when it ends first, Close returns its error and the writer goes on
// until its write ends.
func (l *Log) Close(ctx context.Context) error {
	l.closeMu.Do(func() { close(l.stop) })
	ch := make(chan struct{})
	go func() { l.done.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
