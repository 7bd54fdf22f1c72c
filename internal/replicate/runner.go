package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/internal/events"
	"wharf/internal/metadata"
)

// Remote is the other registry of a rule.
type Remote struct {
	Registry  name.Registry
	Auth      authn.Keychain
	Transport http.RoundTripper
}

// Spec is a rule with its other registry and when it runs.
type Spec struct {
	Rule
	Remote Remote
	// OnPush queues every push the rule matches (push rules).
	OnPush bool
	// Schedule runs the whole rule every so often (0: never).
	Schedule time.Duration
}

// Queue is the durable queue of pushes to copy: the notification queue's
// methods of metadata.Store, one endpoint per rule.
type Queue interface {
	Enqueue(ctx context.Context, ns []metadata.Notification, bound func(endpoint string) int) (map[string]int64, error)
	ClaimNotifyEndpoint(ctx context.Context, endpoint, owner string, lease time.Duration) (bool, error)
	ReleaseNotifyEndpoint(ctx context.Context, endpoint, owner string) error
	PendingNotifications(ctx context.Context, endpoint string, n int) ([]metadata.Notification, error)
	AckNotifications(ctx context.Context, endpoint string, ids ...int64) error
	RetryNotifications(ctx context.Context, endpoint string, next time.Time, ids ...int64) error
	RecordReplication(ctx context.Context, rule string, start time.Time, copied, failed int64, lastErr string) error
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Rules []Spec
	// Local is this registry's OCI API handler, reached in process.
	Local http.Handler
	Queue Queue
	// Turn, when set, says whether this process runs job now (a lease
	// among replicas, lease.Turns.Every); nil runs every job here.
	Turn func(job string, interval time.Duration) func(context.Context) (bool, error)
	// Owner names this process in the queue's leases.
	Owner string
	Log   *slog.Logger
	// Poll is how often an idle rule looks at its queue (0: 2s); a push
	// wakes it at once.
	Poll time.Duration
}

// Runner copies what the rules say: pushes from the durable queue, and
// whole rules on their schedule or when asked.
type Runner struct {
	opts    RunnerOptions
	local   name.Registry
	byName  map[string]*Spec
	pending chan job
	wake    map[string]chan struct{}
	dropped atomic.Int64
	stop    chan struct{}
	done    sync.WaitGroup
}

// job is one push queued for a rule, as its queue's body holds it.
type job struct {
	rule   string
	Repo   string `json:"repository"`
	Digest string `json:"digest"`
	Tag    string `json:"tag,omitempty"`
}

// pendingBuffer bounds the pushes waiting to be queued in the database;
// past it a push is dropped (and logged), which the rule's schedule, if
// it has one, catches up.
const pendingBuffer = 4096

// queueLease is how long a rule's queue stays with a replica that stopped
// renewing it.
const queueLease = 30 * time.Second

// maxAttempts is how often a queued push is tried before it is dropped
// with an error in the rule's status.
const maxAttempts = 10

// QueueName is the rule's endpoint in the notification queue.
func QueueName(rule string) string { return "replication/" + rule }

// NewRunner returns a runner of opts.Rules; Run starts it.
func NewRunner(opts RunnerOptions) (*Runner, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	local, err := name.NewRegistry(LocalHost, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("replicate: %w", err)
	}
	r := &Runner{opts: opts, local: local, byName: map[string]*Spec{}, pending: make(chan job, pendingBuffer),
		wake: map[string]chan struct{}{}, stop: make(chan struct{})}
	for i := range opts.Rules {
		s := &opts.Rules[i]
		r.byName[s.Name] = s
		r.wake[s.Name] = make(chan struct{}, 1)
	}
	return r, nil
}

// Record queues a manifest push for every on-push rule that matches it.
// It never blocks: the database write happens on the runner's goroutine.
func (r *Runner) Record(e *events.Event) {
	if e.Action != events.Push || !e.Manifest() {
		return
	}
	for _, s := range r.opts.Rules {
		if !s.OnPush || s.Pull {
			continue
		}
		if _, ok := s.Target(e.Repository, e.Tag); !ok {
			continue
		}
		select {
		case r.pending <- job{rule: s.Name, Repo: e.Repository, Digest: e.Digest.String(), Tag: e.Tag}:
		default:
			r.dropped.Add(1)
		}
	}
}

// Run starts queueing, the rules' queues and their schedules; Close stops
// them.
func (r *Runner) Run(ctx context.Context) {
	r.done.Go(func() { r.enqueue(ctx) })
	for _, s := range r.opts.Rules {
		if s.OnPush && !s.Pull {
			r.done.Go(func() { r.drain(ctx, s.Name) })
		}
		if s.Schedule > 0 {
			r.done.Go(func() { r.schedule(ctx, s) })
		}
	}
}

// Close stops the runner after the pushes it holds are queued.
func (r *Runner) Close() {
	close(r.stop)
	r.done.Wait()
}

// enqueue moves pushes from Record to the database, a batch at a time.
func (r *Runner) enqueue(ctx context.Context) {
	for {
		var batch []job
		select {
		case j := <-r.pending:
			batch = append(batch, j)
		case <-r.stop:
			// Whatever Record handed over before Close is queued.
			for {
				select {
				case j := <-r.pending:
					batch = append(batch, j)
					continue
				default:
				}
				break
			}
			r.write(context.WithoutCancel(ctx), batch)
			return
		}
	more:
		for len(batch) < 256 {
			select {
			case j := <-r.pending:
				batch = append(batch, j)
			default:
				break more
			}
		}
		r.write(ctx, batch)
	}
}

func (r *Runner) write(ctx context.Context, batch []job) {
	if n := r.dropped.Swap(0); n > 0 {
		r.opts.Log.Warn("replication: pushes dropped, the queue's buffer was full; a scheduled run of the rule catches them up", "dropped", n)
	}
	if len(batch) == 0 {
		return
	}
	ns := make([]metadata.Notification, 0, len(batch))
	for _, j := range batch {
		body, _ := json.Marshal(j)
		ns = append(ns, metadata.Notification{Endpoint: QueueName(j.rule), Body: body, CreatedAt: time.Now()})
	}
	if _, err := r.opts.Queue.Enqueue(ctx, ns, nil); err != nil {
		r.opts.Log.Error("replication: queue pushes", "err", err, "pushes", len(ns))
		return
	}
	for _, j := range batch {
		select {
		case r.wake[j.rule] <- struct{}{}:
		default:
		}
	}
}

// drain copies a rule's queued pushes while this process holds the
// queue's lease.
func (r *Runner) drain(ctx context.Context, rule string) {
	tick := time.NewTicker(r.opts.Poll)
	defer tick.Stop()
	// Stopping hands the queue to another replica at once.
	defer func() {
		if err := r.opts.Queue.ReleaseNotifyEndpoint(context.WithoutCancel(ctx), QueueName(rule), r.opts.Owner); err != nil {
			r.opts.Log.Error("replication: release the queue", "rule", rule, "err", err)
		}
	}()
	for {
		if err := r.drainOnce(ctx, rule); err != nil && ctx.Err() == nil {
			r.opts.Log.Error("replication: queue", "rule", rule, "err", err)
		}
		if !r.wait(ctx, tick.C, r.wake[rule]) {
			return
		}
	}
}

func (r *Runner) drainOnce(ctx context.Context, rule string) error {
	q, s := QueueName(rule), r.byName[rule]
	for {
		ns, err := r.opts.Queue.PendingNotifications(ctx, q, 16)
		if err != nil || len(ns) == 0 {
			return err
		}
		for _, n := range ns {
			// The lease is taken, or renewed, before each copy: another
			// replica takes the queue over within queueLease of this
			// one's death.
			held, err := r.opts.Queue.ClaimNotifyEndpoint(ctx, q, r.opts.Owner, queueLease)
			if err != nil || !held {
				return err
			}
			if n.NextAt.After(time.Now()) {
				return nil // the head waits for its retry; order is kept
			}
			start := time.Now()
			var j job
			err = json.Unmarshal(n.Body, &j)
			if err == nil {
				err = r.copyPush(ctx, s, j)
			}
			if ctx.Err() != nil {
				return nil // stopping: the push stays queued
			}
			switch {
			case err == nil:
				if aerr := r.opts.Queue.AckNotifications(ctx, q, n.ID); aerr != nil {
					return aerr
				}
				r.record(ctx, rule, start, 1, 0, "")
			case n.Attempts+1 >= maxAttempts:
				r.opts.Log.Error("replication: push dropped after its last attempt", "rule", rule, "repository", j.Repo, "digest", j.Digest, "attempts", n.Attempts+1, "err", err)
				if aerr := r.opts.Queue.AckNotifications(ctx, q, n.ID); aerr != nil {
					return aerr
				}
				r.record(ctx, rule, start, 0, 1, err.Error())
			default:
				wait := min(time.Second<<n.Attempts, 5*time.Minute)
				r.opts.Log.Warn("replication: copy failed; retrying", "rule", rule, "repository", j.Repo, "digest", j.Digest, "in", wait, "err", err)
				r.record(ctx, rule, start, 0, 1, err.Error())
				return r.opts.Queue.RetryNotifications(ctx, q, time.Now().Add(wait), n.ID)
			}
		}
	}
}

func (r *Runner) record(ctx context.Context, rule string, start time.Time, copied, failed int64, msg string) {
	if err := r.opts.Queue.RecordReplication(ctx, rule, start, copied, failed, msg); err != nil {
		r.opts.Log.Error("replication: record the rule's outcome", "rule", rule, "err", err)
	}
}

// copyPush copies one queued push of this registry to the rule's remote.
func (r *Runner) copyPush(ctx context.Context, s *Spec, j job) error {
	target, ok := s.Target(j.Repo, j.Tag)
	if !ok {
		return nil // the rule changed since the push was queued
	}
	src := r.local.Repo(j.Repo).Digest(j.Digest)
	dst := s.Remote.Registry.Repo(target)
	var to name.Reference = dst.Digest(j.Digest)
	if j.Tag != "" {
		to = dst.Tag(j.Tag)
	}
	_, err := Copy(ctx, src, to, r.copyOptions(s, false))
	return err
}

// copyOptions are a rule's ends: this registry in process, the remote
// over the network.
func (r *Runner) copyOptions(s *Spec, pull bool) Options {
	o := Options{Log: r.opts.Log}
	local, other := InProcess(r.opts.Local), s.Remote.Transport
	if pull {
		o.SrcAuth, o.SrcTransport, o.DstTransport = s.Remote.Auth, other, local
	} else {
		o.DstAuth, o.SrcTransport, o.DstTransport = s.Remote.Auth, local, other
	}
	return o
}

// schedule runs a rule every s.Schedule while this process holds its turn.
func (r *Runner) schedule(ctx context.Context, s Spec) {
	turn := func(context.Context) (bool, error) { return true, nil }
	if r.opts.Turn != nil {
		turn = r.opts.Turn(QueueName(s.Name), s.Schedule)
	}
	tick := time.NewTicker(s.Schedule)
	defer tick.Stop()
	for {
		if ok, err := turn(ctx); err != nil {
			r.opts.Log.Error("replication: lease", "rule", s.Name, "err", err)
		} else if ok {
			if _, err := r.RunRule(ctx, s.Name); err != nil && ctx.Err() == nil {
				r.opts.Log.Error("replication: scheduled run", "rule", s.Name, "err", err)
			}
		}
		if !r.wait(ctx, tick.C, nil) {
			return
		}
	}
}

// wait waits for a tick or a wake-up (nil: none), and reports false when
// the runner stops instead.
func (r *Runner) wait(ctx context.Context, tick <-chan time.Time, wake <-chan struct{}) bool {
	select {
	case <-r.stop:
		return false
	case <-ctx.Done():
		return false
	case <-tick:
	case <-wake:
	}
	return true
}

// ErrNoRule is a rule name the configuration does not hold.
var ErrNoRule = errors.New("replicate: no such rule")

// RunResult is what one run of a whole rule did.
type RunResult struct {
	Rule    string `json:"rule"`
	Copied  int    `json:"copied"`
	Current int    `json:"current"` // already the same digest on the destination
	Failed  int    `json:"failed"`
	// Errors are the first failures, one line each.
	Errors []string `json:"errors,omitempty"`
}

const maxRunErrors = 10

// RunRule copies every tag of every repository the rule matches whose
// digest differs on the destination: HEADs first on both ends, so that an
// up-to-date tag costs no pull (Docker Hub does not count HEADs).
func (r *Runner) RunRule(ctx context.Context, rule string) (RunResult, error) {
	s, ok := r.byName[rule]
	if !ok {
		return RunResult{}, fmt.Errorf("%w %q", ErrNoRule, rule)
	}
	start := time.Now()
	res := RunResult{Rule: rule}
	srcReg, srcOpts, dstReg, dstOpts := r.local, r.remoteOpts(ctx, nil, InProcess(r.opts.Local)), s.Remote.Registry, r.remoteOpts(ctx, s.Remote.Auth, s.Remote.Transport)
	if s.Pull {
		srcReg, srcOpts, dstReg, dstOpts = dstReg, dstOpts, srcReg, srcOpts
	}
	repos, err := r.repositories(ctx, s, srcReg, srcOpts)
	if err != nil {
		r.record(ctx, rule, start, 0, 1, err.Error())
		return res, err
	}
	fail := func(err error) {
		r.opts.Log.Warn("replication: copy failed; the rule's next run tries again", "rule", rule, "err", err)
		res.Failed++
		if len(res.Errors) < maxRunErrors {
			res.Errors = append(res.Errors, err.Error())
		}
	}
	for _, repo := range repos {
		tags, err := remote.List(srcReg.Repo(repo), srcOpts...)
		if err != nil {
			fail(fmt.Errorf("replicate: list the tags of %s: %w", srcReg.Repo(repo), err))
			continue
		}
		target, _ := s.Target(repo, "")
		for _, tag := range tags {
			if _, ok := s.Target(repo, tag); !ok || isAttachedTag(tag) {
				continue // cosign's tags come with their subjects
			}
			src, dst := srcReg.Repo(repo).Tag(tag), dstReg.Repo(target).Tag(tag)
			sd, err := remote.Head(src, srcOpts...)
			if err != nil {
				fail(fmt.Errorf("replicate: %s: %w", src, err))
				continue
			}
			if dd, err := remote.Head(dst, dstOpts...); err == nil && dd.Digest == sd.Digest {
				res.Current++
				continue
			}
			if _, err := Copy(ctx, src.Context().Digest(sd.Digest.String()), dst, r.copyOptions(s, s.Pull)); err != nil {
				fail(err)
				continue
			}
			res.Copied++
		}
	}
	var last string
	if len(res.Errors) > 0 {
		last = res.Errors[len(res.Errors)-1]
	}
	r.record(ctx, rule, start, int64(res.Copied), int64(res.Failed), last)
	r.opts.Log.Info("replication run", "rule", rule, "copied", res.Copied, "current", res.Current, "failed", res.Failed, "took", time.Since(start).Round(time.Millisecond))
	return res, nil
}

func (r *Runner) remoteOpts(ctx context.Context, kc authn.Keychain, t http.RoundTripper) []remote.Option {
	if kc == nil {
		kc = anonymous{}
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithTransport(t)}
}

// repositories lists the source's repositories the rule matches: a
// pattern without wildcards names its repository (Docker Hub has no
// catalog), the others filter the source's catalog.
func (r *Runner) repositories(ctx context.Context, s *Spec, reg name.Registry, opts []remote.Option) ([]string, error) {
	var out []string
	needCatalog := false
	for _, p := range s.Repositories {
		if strings.ContainsAny(p, "*?[") {
			needCatalog = true
		} else {
			out = append(out, p)
		}
	}
	if !needCatalog {
		return out, nil
	}
	all, err := remote.Catalog(ctx, reg, opts...)
	if err != nil {
		return nil, fmt.Errorf("replicate: list the repositories of %s: %w", reg, err)
	}
	seen := map[string]bool{}
	for _, repo := range out {
		seen[repo] = true
	}
	for _, repo := range all {
		if !seen[repo] && s.MatchesRepository(repo) {
			out = append(out, repo)
			seen[repo] = true
		}
	}
	return out, nil
}

// isAttachedTag is a cosign tag (sha256-<hex>.sig) or a referrers
// fallback tag (sha256-<hex>): copied with its subject, not on its own.
func isAttachedTag(tag string) bool {
	return strings.HasPrefix(tag, "sha256-") && len(tag) >= len("sha256-")+64
}

// StatusSource is what Status reads: the queues' backlogs and the rules'
// records (metadata.Store).
type StatusSource interface {
	NotifyEndpoints(ctx context.Context) ([]metadata.NotifyEndpoint, error)
	ReplicationRules(ctx context.Context) ([]metadata.ReplicationRule, error)
}

// RuleStatus is one rule as wharf replication status and the admin API
// show it.
type RuleStatus struct {
	Name      string     `json:"name"`
	Direction string     `json:"direction"`
	Remote    string     `json:"remote"`
	OnPush    bool       `json:"on_push"`
	Schedule  string     `json:"schedule,omitempty"`
	Pending   int64      `json:"pending"`
	Copied    int64      `json:"copied"`
	Failed    int64      `json:"failed"`
	LastStart *time.Time `json:"last_start,omitempty"`
	LastEnd   *time.Time `json:"last_end,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// Status lists specs with their queues' backlogs and their records.
func Status(ctx context.Context, src StatusSource, specs []Spec) ([]RuleStatus, error) {
	eps, err := src.NotifyEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	recs, err := src.ReplicationRules(ctx)
	if err != nil {
		return nil, err
	}
	pending := map[string]int64{}
	for _, e := range eps {
		pending[e.Endpoint] = e.Pending
	}
	byRule := map[string]metadata.ReplicationRule{}
	for _, r := range recs {
		byRule[r.Rule] = r
	}
	out := make([]RuleStatus, 0, len(specs))
	for _, s := range specs {
		st := RuleStatus{Name: s.Name, Direction: "push", Remote: s.Remote.Registry.RegistryStr(), OnPush: s.OnPush, Pending: pending[QueueName(s.Name)]}
		if s.Pull {
			st.Direction = "pull"
		}
		if s.Schedule > 0 {
			st.Schedule = s.Schedule.String()
		}
		if rec, ok := byRule[s.Name]; ok {
			st.Copied, st.Failed, st.LastError = rec.Copied, rec.Failed, rec.LastError
			if !rec.LastStart.IsZero() {
				st.LastStart, st.LastEnd = &rec.LastStart, &rec.LastEnd
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// Specs are the runner's rules.
func (r *Runner) Specs() []Spec { return r.opts.Rules }
