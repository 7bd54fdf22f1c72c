package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"wharf/internal/metadata"
)

// batchSize is how many queued events a sender reads at a time.
const batchSize = 64

// send delivers e's queue in order for as long as ctx lasts, while this
// process holds the endpoint's lease.
func (n *Notifier) send(ctx context.Context, e *endpoint) {
	owner := n.owner
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := n.store.ReleaseNotifyEndpoint(rctx, e.Name, owner); err != nil {
			n.log.Warn("releasing the notification endpoint failed; another replica takes it when the lease ends", "endpoint", e.Name, "err", err)
		}
	}()
	for ctx.Err() == nil {
		wait := n.deliverSome(ctx, e, owner)
		if wait <= 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliverSome claims the endpoint, delivers what is due and returns how
// long to wait before looking again (0: at once).
func (n *Notifier) deliverSome(ctx context.Context, e *endpoint, owner string) time.Duration {
	// A look first, which writes nothing: an idle registry does not renew
	// leases (a write, on SQLite an fsync) every poll.
	if head, err := n.store.PendingNotifications(ctx, e.Name, 1); err != nil || len(head) == 0 {
		if err != nil && ctx.Err() == nil {
			n.log.Error("reading the notification queue failed", "endpoint", e.Name, "err", err)
		}
		return n.opts.Poll
	}
	held, err := n.store.ClaimNotifyEndpoint(ctx, e.Name, owner, n.opts.Lease)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error("claiming the notification endpoint failed", "endpoint", e.Name, "err", err)
		}
		return n.opts.Poll
	}
	if !held {
		return n.opts.Poll // another replica delivers it
	}
	claimed := time.Now()
	rows, err := n.store.PendingNotifications(ctx, e.Name, batchSize)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error("reading the notification queue failed", "endpoint", e.Name, "err", err)
		}
		return n.opts.Poll
	}
	if len(rows) == 0 {
		return n.opts.Poll
	}
	// Delivered events are removed together, once per batch: a crash in
	// between sends them again, which receivers drop by id.
	var delivered []int64
	wait := n.deliverRows(ctx, e, rows, claimed, &delivered)
	if err := n.store.AckNotifications(context.WithoutCancel(ctx), e.Name, delivered...); err != nil {
		n.log.Error("removing delivered notifications failed; they will be sent again", "endpoint", e.Name, "err", err)
		return n.opts.Poll
	}
	return wait
}

// deliverRows delivers rows in order until one fails or must wait, adding
// the delivered ids to delivered, and returns how long to wait then.
func (n *Notifier) deliverRows(ctx context.Context, e *endpoint, rows []metadata.Notification, claimed time.Time, delivered *[]int64) time.Duration {
	for _, r := range rows {
		if wait := time.Until(r.NextAt); wait > 0 {
			// The head waits for its backoff; renew the lease before it
			// could run out.
			return min(wait, n.opts.Lease/3)
		}
		if time.Since(claimed) > n.opts.Lease/3 {
			return 0 // renew the lease first
		}
		if err := n.deliver(ctx, e, r.Body); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			e.failed.Add(1)
			attempts := r.Attempts + 1
			delay := backoff(attempts, e.Threshold, e.Backoff, n.opts.MaxBackoff)
			n.log.Warn("notification delivery failed; retrying", "endpoint", e.Name, "url", redact(e.URL),
				"attempts", attempts, "retry_in", delay, "err", err)
			if err := n.store.RetryNotification(ctx, e.Name, r.ID, time.Now().Add(delay)); err != nil && !errors.Is(err, metadata.ErrNotFound) {
				n.log.Error("recording a failed notification failed", "endpoint", e.Name, "err", err)
				return n.opts.Poll
			}
			return delay
		}
		e.delivered.Add(1)
		*delivered = append(*delivered, r.ID)
		if r.Attempts > 0 {
			n.log.Info("notification endpoint reachable again", "endpoint", e.Name, "after_attempts", r.Attempts)
		}
	}
	return 0
}

// backoff is the wait after the attempts-th failure in a row: none before
// threshold, then base doubled per further failure, at most max.
func backoff(attempts, threshold int, base, maxWait time.Duration) time.Duration {
	if attempts < threshold {
		return 0
	}
	d := base
	for i := threshold; i < attempts && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}

// deliver POSTs one event to e.
func (n *Notifier) deliver(ctx context.Context, e *endpoint, event []byte) error {
	body, err := envelope(event)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: request: %w", urlFree(err))
	}
	for k, vs := range e.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", EventsMediaType)
	if len(e.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(e.Secret, body))
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return urlFree(err)
	}
	// Read a little of the answer, so that the connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	// distribution counts any status below 400 as delivered.
	if resp.StatusCode >= 400 {
		return fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return nil
}

// urlFree drops the URL from a client error: its path or query may hold a
// token.
func urlFree(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// redact keeps a URL's scheme and host for logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}
