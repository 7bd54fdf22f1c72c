package notify

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"wharf/internal/events"
	"wharf/internal/metadata"
)

// Endpoint is one webhook receiver and its filters.
type Endpoint struct {
	Name string
	// URL receives the deliveries by POST.
	URL     string
	Headers http.Header
	// Timeout bounds one delivery. Threshold failures in a row are retried
	// at once; after that the sender waits Backoff, doubled with every
	// further failure up to Options.MaxBackoff.
	Timeout   time.Duration
	Threshold int
	Backoff   time.Duration
	// IgnoredMediaTypes and IgnoreMediaTypes (distribution's two
	// spellings) and IgnoreActions drop events; Repositories, when set,
	// keep only those repositories' ("*" within a segment, "**" across).
	IgnoredMediaTypes, IgnoreMediaTypes, IgnoreActions, Repositories []string
	// Secret, when set, signs every body (SignatureHeader). Never logged.
	Secret []byte
	// Backlog bounds the queued events; past it the oldest are dropped.
	Backlog int
	// MaxEvents is the most events one delivery carries (default
	// DefaultMaxEvents, at most MaxMaxEvents); 1 sends each alone.
	MaxEvents int
}

// MaxMaxEvents is the largest Endpoint.MaxEvents: the ids of a batch are
// removed or marked for a retry in one statement, within every database's
// parameter limit.
const MaxMaxEvents = 1000

// Options configure a Notifier. Zero values take the defaults.
type Options struct {
	Endpoints []Endpoint
	// Scheme is the registry's scheme in target URLs (default "https").
	Scheme string
	// SourceAddr is the event source's addr: this host and port.
	SourceAddr string
	// FlushInterval is how often the buffer is written to the database
	// (default 100ms); Buffer bounds it (default 10000 events: past it an
	// event is dropped and counted, never waited for).
	FlushInterval time.Duration
	Buffer        int
	// Poll is how often an idle sender looks for events other replicas
	// queued (default 1s); its own process wakes it at once.
	Poll time.Duration
	// Lease is how long a sender holds its endpoint without renewing
	// (default 30s): after a crash, another replica takes over then.
	Lease time.Duration
	// Owner names this process in the endpoints' leases (default: a new
	// id per start). A stable name (host and port) lets a restarted
	// process take its endpoints back at once instead of waiting for the
	// lease its previous life held.
	Owner string
	// MaxBackoff caps the doubling backoff (default 5m).
	MaxBackoff time.Duration
	// IncludeReferences lists, in manifest push and pull events, the
	// manifest's references (notifications.events.includereferences).
	IncludeReferences bool
	// Transport, when set, carries the deliveries (tests); default a clone
	// of http.DefaultTransport.
	Transport http.RoundTripper
}

func (o Options) withDefaults() Options {
	if o.Scheme == "" {
		o.Scheme = "https"
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.Buffer <= 0 {
		o.Buffer = 10000
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	return o
}

// Notifier is the events.Sink of the webhooks. Start it with Run; Close
// flushes what is buffered.
type Notifier struct {
	store    *metadata.Store
	log      *slog.Logger
	opts     Options
	source   Source
	owner    string
	eps      []*endpoint
	byName   map[string]*endpoint
	buf      chan recorded
	closed   atomic.Bool
	dropped  atomic.Int64 // events the full buffer refused
	reported int64        // dropped counts already logged (flush loop only)
	lastLog  time.Time
	// The flush loop's own: ids is crypto/rand read 4 KiB at a time (an
	// event id is 16 bytes: one read per 256 events rather than a system
	// call each), scratch and rows the storage of the last flush, reused,
	// encoded an event's JSON, open each endpoint's row being filled.
	ids     io.Reader
	scratch []recorded
	rows    []metadata.Notification
	encoded []byte
	open    []int

	stop    context.CancelFunc
	flushed chan struct{}
	wg      sync.WaitGroup
}

// endpoint is an Endpoint with its client, filter and counters.
type endpoint struct {
	Endpoint
	filter filter
	client *http.Client
	wake   chan struct{}

	queued, delivered, failed, dropped atomic.Int64
}

// New returns a Notifier delivering to opts.Endpoints through store.
// Nothing runs before Run.
func New(store *metadata.Store, log *slog.Logger, opts Options) (*Notifier, error) {
	opts = opts.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{
		store:  store,
		log:    log.With("component", "notify"),
		opts:   opts,
		source: Source{Addr: opts.SourceAddr, InstanceID: uuid.NewString()},
		byName: map[string]*endpoint{},
		buf:    make(chan recorded, opts.Buffer),
		ids:    bufio.NewReaderSize(rand.Reader, 4096),
	}
	n.owner = opts.Owner
	if n.owner == "" {
		n.owner = n.source.InstanceID
	}
	transport := opts.Transport
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	for _, ep := range opts.Endpoints {
		if ep.Name == "" || n.byName[ep.Name] != nil {
			return nil, fmt.Errorf("notify: endpoint name %q is empty or used twice", ep.Name)
		}
		if ep.MaxEvents > MaxMaxEvents {
			return nil, fmt.Errorf("notify: endpoint %q: maxevents %d is more than %d", ep.Name, ep.MaxEvents, MaxMaxEvents)
		}
		if ep.MaxEvents <= 0 {
			ep.MaxEvents = DefaultMaxEvents
		}
		e := &endpoint{
			Endpoint: ep,
			filter:   newFilter(ep),
			wake:     make(chan struct{}, 1),
			client: &http.Client{
				Transport: transport,
				Timeout:   ep.Timeout,
				// A redirect is answered, not followed, as distribution
				// does: the operator chose the URL, a receiver does not
				// get to send the events elsewhere.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
		}
		n.eps = append(n.eps, e)
		n.byName[ep.Name] = e
	}
	return n, nil
}

// recorded is an event as the buffer holds it: without the manifest's
// payload (up to 4 MiB an event), with the references it lists.
type recorded struct {
	events.Event
	refs []v1.Descriptor
}

// Record implements events.Sink: it copies e into the buffer, or counts it
// dropped when the buffer is full or the notifier closed. With
// IncludeReferences, a manifest push or pull has its references read from
// its payload here, while the payload is the request's.
func (n *Notifier) Record(e *events.Event) {
	if n.closed.Load() {
		n.dropped.Add(1)
		return
	}
	r := recorded{Event: *e}
	r.Payload = nil
	if n.opts.IncludeReferences && e.Manifest() && (e.Action == events.Push || e.Action == events.Pull) {
		r.refs = references(e.Payload)
	}
	select {
	case n.buf <- r:
	default:
		n.dropped.Add(1)
	}
}

// Run starts the flush loop and one sender per endpoint; they stop with
// Close (or when ctx ends, without the last flush).
func (n *Notifier) Run(ctx context.Context) {
	ctx, n.stop = context.WithCancel(ctx)
	n.flushed = make(chan struct{})
	go n.flushLoop(ctx)
	for _, e := range n.eps {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.send(ctx, e)
		}()
	}
	for _, e := range n.eps {
		n.log.Info("notifications on", "endpoint", e.Name, "url", redact(e.URL), "signed", len(e.Secret) > 0,
			"backlog", e.Backlog, "instance", n.source.InstanceID)
	}
}

// Close stops accepting events, writes the buffer to the database, stops
// the senders and releases their leases.
func (n *Notifier) Close() {
	if n.stop == nil || n.closed.Swap(true) {
		return
	}
	n.stop()
	<-n.flushed
	n.wg.Wait()
}

func (n *Notifier) flushLoop(ctx context.Context) {
	defer close(n.flushed)
	t := time.NewTicker(n.opts.FlushInterval)
	defer t.Stop()
	var held []recorded // a batch the database refused, tried again
	for {
		select {
		case <-ctx.Done():
			// The last flush, after the sink is closed, on a context of
			// its own: a graceful stop loses nothing that was recorded.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			n.flush(fctx, held)
			cancel()
			return
		case <-t.C:
			held = n.flush(ctx, held)
			n.reportDrops()
		}
	}
}

// flush writes held and everything buffered to the database and returns
// what could not be written.
func (n *Notifier) flush(ctx context.Context, held []recorded) []recorded {
	// held is the scratch storage itself, or nil: copied onto its own
	// place, or nothing.
	batch := append(n.scratch[:0], held...)
	defer func() { n.scratch = batch[:0] }()
drain:
	for range cap(n.buf) {
		select {
		case e := <-n.buf:
			batch = append(batch, e)
		default:
			break drain
		}
	}
	if len(batch) == 0 {
		return nil
	}
	rows, err := n.render(n.rows[:0], batch)
	n.rows = rows[:0]
	defer clear(rows) // the bodies go with the flush
	if err != nil {
		n.log.Error("rendering events failed; they are dropped", "events", len(batch), "err", err)
		n.dropped.Add(int64(len(batch)))
		clear(batch)
		return nil
	}
	dropped, err := n.store.Enqueue(ctx, rows, func(name string) int { return n.byName[name].Backlog })
	if err != nil {
		if len(batch) > n.opts.Buffer {
			// The database has been failing for a while: keep the newest.
			n.dropped.Add(int64(len(batch) - n.opts.Buffer))
			batch = batch[len(batch)-n.opts.Buffer:]
		}
		n.log.Error("queueing events in the database failed; retrying", "events", len(batch), "err", err)
		return batch
	}
	clear(batch) // let the strings go; the storage stays for the next flush
	for name, k := range dropped {
		n.byName[name].dropped.Add(k)
	}
	for _, r := range rows {
		n.byName[r.Endpoint].queued.Add(int64(r.Events))
	}
	for _, e := range n.eps {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// render appends to rows each endpoint's share of batch, in order: rows of
// up to the endpoint's MaxEvents events (and maxBody bytes, one event
// larger than that alone), each the body of one envelope already, so that
// a flush of a thousand events writes ten rows rather than a thousand, and
// the sender reads, sends and removes as few.
func (n *Notifier) render(rows []metadata.Notification, batch []recorded) ([]metadata.Notification, error) {
	n.open = n.open[:0]
	for range n.eps {
		n.open = append(n.open, -1)
	}
	for i := range batch {
		id, err := uuid.NewRandomFromReader(n.ids)
		if err != nil {
			return rows, fmt.Errorf("notify: event id: %w", err)
		}
		ev := newEvent(&batch[i], id.String(), n.opts.Scheme, n.source)
		var body []byte
		for k, e := range n.eps {
			if !e.filter.accepts(batch[i].Action, ev.Target.Repository, ev.Target.MediaType) {
				continue
			}
			if body == nil {
				if n.encoded, err = appendEvent(n.encoded[:0], &ev); err != nil {
					return rows, fmt.Errorf("notify: event: %w", err)
				}
				body = n.encoded
			}
			if j := n.open[k]; j >= 0 && rows[j].Events < e.MaxEvents && len(rows[j].Body)+1+len(body) <= maxBody {
				rows[j].Body = append(append(rows[j].Body, ','), body...)
				rows[j].Events++
				continue
			}
			// A new row, sized for the events of this flush it may take.
			size := min(maxBody, (len(body)+1)*min(e.MaxEvents, len(batch)-i))
			rows = append(rows, metadata.Notification{Endpoint: e.Name, Body: append(make([]byte, 0, size), body...), Events: 1, CreatedAt: ev.Timestamp})
			n.open[k] = len(rows) - 1
		}
	}
	return rows, nil
}

// reportDrops logs dropped events at most once a minute.
func (n *Notifier) reportDrops() {
	var total int64
	for _, e := range n.eps {
		total += e.dropped.Load()
	}
	total += n.dropped.Load()
	if total == n.reported || time.Since(n.lastLog) < time.Minute {
		return
	}
	attrs := []any{"dropped", total - n.reported, "buffer_full", n.dropped.Load()}
	for _, e := range n.eps {
		attrs = append(attrs, "backlog_"+e.Name, e.dropped.Load())
	}
	n.log.Warn("notification events dropped: an endpoint's backlog is full or events arrive faster than the database takes them (raise backlog, or fix the endpoint)", attrs...)
	n.reported, n.lastLog = total, time.Now()
}

// Stats are an endpoint's counters for metrics: Queued, Delivered, Failed
// (delivery attempts) and Dropped (past the backlog) by this process, and
// Backlog, the events waiting in the database for any replica.
type Stats struct {
	Endpoint                           string
	Queued, Delivered, Failed, Dropped int64
	Backlog                            int64
}

// Stats returns each endpoint's counters, and the events dropped before
// any endpoint saw them (a full buffer).
func (n *Notifier) Stats(ctx context.Context) ([]Stats, int64, error) {
	out := make([]Stats, len(n.eps))
	for i, e := range n.eps {
		out[i] = Stats{Endpoint: e.Name, Queued: e.queued.Load(), Delivered: e.delivered.Load(), Failed: e.failed.Load(), Dropped: e.dropped.Load()}
	}
	states, err := n.store.NotifyEndpoints(ctx)
	if err != nil {
		return out, n.dropped.Load(), fmt.Errorf("notify: stats: %w", err)
	}
	for _, st := range states {
		for i := range out {
			if out[i].Endpoint == st.Endpoint {
				out[i].Backlog = st.Pending
			}
		}
	}
	return out, n.dropped.Load(), nil
}
