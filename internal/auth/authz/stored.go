package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"wharf/internal/auth"
)

// Loader reads every rule of a store, in order.
type Loader func(ctx context.Context) ([]Rule, error)

// StoredOptions configure a Stored ACL.
type StoredOptions struct {
	// Name names the backend in logs and errors, e.g. "acl_mongo".
	Name string
	// TTL is how often the rules are reloaded.
	TTL time.Duration
	// Timeout bounds one load.
	Timeout time.Duration
	// Log hears about reloads and their failures; nil discards.
	Log *slog.Logger
	// Now is the clock (time.Now when nil), for tests.
	Now func() time.Time
}

// ErrStale means the rules could not be reloaded for too long to be
// trusted.
var ErrStale = errors.New("the ACL could not be reloaded")

// Stored is an authorizer over rules loaded from a store and reloaded every
// TTL in the background. Safe for concurrent use.
type Stored struct {
	load Loader
	opts StoredOptions
	log  *slog.Logger

	mu      sync.RWMutex
	acl     *ACL
	rules   []Rule
	loaded  time.Time // of the rules in acl
	lastErr error     // of the last failed reload, nil after a success
	stale   bool      // logged as stale already

	reloadMu sync.Mutex // one load at a time
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

var _ Authorizer = (*Stored)(nil)

// NewStored loads the rules once (an error stops start-up, as in
// docker_auth) and starts reloading them every TTL until Close.
func NewStored(ctx context.Context, load Loader, o StoredOptions) (*Stored, error) {
	if o.TTL <= 0 || o.Timeout <= 0 {
		return nil, errors.New("authz: TTL and Timeout must be positive")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Stored{load: load, opts: o, log: log.With("component", "authz", "backend", o.Name),
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := a.Reload(ctx); err != nil {
		return nil, err
	}
	go a.loop()
	return a, nil
}

func (a *Stored) loop() {
	defer close(a.done)
	t := time.NewTicker(a.opts.TTL)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-a.stop:
				case <-ctx.Done():
				}
				cancel()
			}()
			_ = a.Reload(ctx) // logged there
			cancel()
		}
	}
}

// Reload reads the rules now. On failure the rules loaded before stay in
// force (until they are too old, see Authorize) and the error is returned
// and logged.
func (a *Stored) Reload(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	rules, err := a.load(ctx)
	var acl *ACL
	if err == nil {
		acl, err = New(rules)
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", a.opts.Name, err)
		a.mu.Lock()
		a.lastErr = err
		loaded := a.loaded
		a.mu.Unlock()
		if !loaded.IsZero() {
			a.log.Warn("reloading the ACL failed; keeping the rules loaded before", "loaded_at", loaded.Format(time.RFC3339), "err", err)
		}
		return err
	}
	now := a.opts.Now()
	a.mu.Lock()
	changed := a.acl == nil || !reflect.DeepEqual(rules, a.rules)
	recovered := a.lastErr != nil && a.acl != nil
	a.acl, a.rules, a.loaded, a.lastErr, a.stale = acl, rules, now, nil, false
	a.mu.Unlock()
	switch {
	case changed:
		a.log.Info("loaded the ACL", "rules", len(rules))
		for _, w := range Lint(rules) {
			a.log.Warn("acl: " + w.String())
		}
	case recovered:
		a.log.Info("reloaded the ACL again after a failure", "rules", len(rules))
	}
	return nil
}

// maxAge is how old the rules may be before decisions fail: one missed
// reload is tolerated, two are not.
func (a *Stored) maxAge() time.Duration { return 2*a.opts.TTL + a.opts.Timeout }

// Authorize implements Authorizer with the rules loaded last. When
// they are older than two reload intervals (the store has failed to answer
// since), it returns an error wrapping ErrStale and the last failure: the
// request fails, it is never granted.
func (a *Stored) Authorize(ctx context.Context, req auth.Request) ([]string, error) {
	a.mu.RLock()
	acl, loaded, lastErr := a.acl, a.loaded, a.lastErr
	a.mu.RUnlock()
	if age := a.opts.Now().Sub(loaded); age > a.maxAge() {
		a.mu.Lock()
		first := !a.stale
		a.stale = true
		a.mu.Unlock()
		if first {
			a.log.ErrorContext(ctx, "the ACL is too old to decide with; every request is refused until a reload succeeds",
				"loaded_at", loaded.Format(time.RFC3339), "err", lastErr)
		}
		return nil, fmt.Errorf("%s: %w since %s: %v", a.opts.Name, ErrStale, loaded.Format(time.RFC3339), lastErr)
	}
	return acl.Authorize(ctx, req)
}

// Rules returns the rules in force.
func (a *Stored) Rules() []Rule {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]Rule(nil), a.rules...)
}

// Name implements Authorizer.
func (a *Stored) Name() string { return a.opts.Name }

// Close stops the reloads.
func (a *Stored) Close() error {
	a.once.Do(func() { close(a.stop) })
	<-a.done
	return nil
}
