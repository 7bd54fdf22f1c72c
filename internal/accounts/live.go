package accounts

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"wharf/internal/metadata"
)

// LiveOptions configure a Live; zero values take the defaults.
type LiveOptions struct {
	// ExtraHashes are password hashes of accounts outside the database
	// (the configuration's users): the dummy hash an unknown user is
	// checked against takes their typical cost too, so that timing tells
	// no backend's users apart from unknown names.
	ExtraHashes [][]byte
	// UseInterval is how stale a token's recorded last use may be
	// (default one minute): uses in between cost no write.
	UseInterval time.Duration
	Log         *slog.Logger
	Now         func() time.Time
}

// Live serves the current Snapshot to a running server. Every call to
// Snapshot reads the identity generation (one single-row read) and reloads
// when it changed, so a change made with the CLI in another process is seen
// by the next request. Functions registered with OnChange run after each
// reload, e.g. to purge a login cache.
type Live struct {
	store *metadata.Store
	opts  LiveOptions

	reload   sync.Mutex // one reload at a time
	cur      atomic.Pointer[Snapshot]
	hooksMu  sync.Mutex
	onChange []func()

	usedMu  sync.Mutex
	written map[string]time.Time // token id → last use written
}

// NewLive returns a Live over store; it loads on first use.
func NewLive(store *metadata.Store, opts LiveOptions) *Live {
	if opts.UseInterval <= 0 {
		opts.UseInterval = time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Log = opts.Log.With("component", "accounts")
	return &Live{store: store, opts: opts, written: map[string]time.Time{}}
}

// Now is the clock decisions use.
func (l *Live) Now() time.Time { return l.opts.Now() }

// OnChange registers fn to run after every reload.
func (l *Live) OnChange(fn func()) {
	l.hooksMu.Lock()
	defer l.hooksMu.Unlock()
	l.onChange = append(l.onChange, fn)
}

// pinKey keys a request's pinned snapshot in its context.
type pinKey struct{}

// pinned is the slot Pin puts in a context.
type pinned struct {
	live *Live
	mu   sync.Mutex
	snap *Snapshot
}

// Pin returns a context carrying a slot for one snapshot of l: the first
// Snapshot with it (or a context derived from it) reads the database, the
// later ones reuse what it read. A request handler pins its request's
// context, so that the checks of one request (the login, then every scope)
// see one consistent view for one read of the generation; the next request
// reads again.
func (l *Live) Pin(ctx context.Context) context.Context {
	return context.WithValue(ctx, pinKey{}, &pinned{live: l})
}

// Snapshot returns the account data as of now, or as of the first call in
// a context Pin made. An error (the database is unreachable, a stored rule
// no longer compiles) is never a grant: callers fail the request.
func (l *Live) Snapshot(ctx context.Context) (*Snapshot, error) {
	p, ok := ctx.Value(pinKey{}).(*pinned)
	if !ok || p.live != l {
		return l.current(ctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.snap == nil {
		snap, err := l.current(ctx)
		if err != nil {
			return nil, err
		}
		p.snap = snap
	}
	return p.snap, nil
}

// current reads the generation and returns the snapshot of it, reloading
// when it moved.
func (l *Live) current(ctx context.Context) (*Snapshot, error) {
	gen, err := l.store.IdentityGeneration(ctx)
	if err != nil {
		return nil, err
	}
	if cur := l.cur.Load(); cur != nil && cur.Generation == gen {
		return cur, nil
	}
	l.reload.Lock()
	defer l.reload.Unlock()
	if cur := l.cur.Load(); cur != nil && cur.Generation == gen {
		return cur, nil // another request reloaded meanwhile
	}
	snap, err := Load(ctx, l.store, l.opts.ExtraHashes)
	if err != nil {
		l.opts.Log.ErrorContext(ctx, "loading users, teams and ACL rules from the database failed", "err", err)
		return nil, err
	}
	old := l.cur.Swap(snap)
	if old != nil {
		l.opts.Log.InfoContext(ctx, "users, teams or ACL rules changed; reloaded", "generation", snap.Generation)
	}
	l.hooksMu.Lock()
	hooks := append([]func(){}, l.onChange...)
	l.hooksMu.Unlock()
	for _, fn := range hooks {
		fn()
	}
	return snap, nil
}

// TokenUsed records that token id was used at now. The database is written
// at most once per UseInterval and token; a failed write is logged and
// never fails the request.
func (l *Live) TokenUsed(ctx context.Context, id string) {
	now := l.opts.Now()
	l.usedMu.Lock()
	last, seen := l.written[id]
	if seen && now.Sub(last) < l.opts.UseInterval {
		l.usedMu.Unlock()
		return
	}
	l.written[id] = now
	if len(l.written) > 100000 { // bound memory; the worst case is one extra write per token
		clear(l.written)
		l.written[id] = now
	}
	l.usedMu.Unlock()
	if err := l.store.TouchAccessTokens(ctx, map[string]time.Time{id: now}); err != nil {
		l.opts.Log.WarnContext(ctx, "recording an access token's last use failed", "token_id", id, "err", err)
	}
}
