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

// DefaultMaxEvents is how many queued events one delivery carries at most
// (Endpoint.MaxEvents): a receiver iterating distribution's envelope takes
// them all, and a busy registry sends a request per hundred events rather
// than one per event.
const DefaultMaxEvents = 100

// minRead is how many queued events a sender reads at a time at least:
// several envelopes go out before their rows are removed, together, in one
// transaction (on SQLite, one fsync) rather than one per envelope; a crash
// in between sends at most that many again, which receivers drop by id.
// At 1000, a busy registry's flush of 100 ms (a thousand events at 10,000
// a second) is one read and one removal. (A row carries up to maxevents
// events: see render.)
const minRead = 1000

// maxBody bounds one delivery's body: a batch stops before the event that
// would take it past 1 MiB (a receiver's common limit), but always carries
// at least one event, however large (a manifest's references).
const maxBody = 1 << 20

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
	var claimed time.Time // when this process last took or renewed the lease
	for ctx.Err() == nil {
		wait := n.deliverSome(ctx, e, owner, &claimed)
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

// deliverSome claims the endpoint unless this process renewed its lease
// within a third of it (*claimed), delivers one batch of what is due and
// returns how long to wait before looking again (0: at once).
func (n *Notifier) deliverSome(ctx context.Context, e *endpoint, owner string, claimed *time.Time) time.Duration {
	if time.Since(*claimed) > n.opts.Lease/3 {
		// A look first, which writes nothing: an idle registry does not
		// renew leases (a write, on SQLite an fsync) every poll.
		if head, err := n.store.PendingNotifications(ctx, e.Name, 1); err != nil || len(head) == 0 {
			if err != nil && ctx.Err() == nil {
				n.log.Error("reading the notification queue failed", "endpoint", e.Name, "err", err)
			}
			return n.opts.Poll
		}
		now := time.Now()
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
		*claimed = now
	}
	// Whole envelopes: a multiple of maxevents, minRead at least.
	read := (minRead + e.MaxEvents - 1) / e.MaxEvents * e.MaxEvents
	rows, err := n.store.PendingNotifications(ctx, e.Name, read)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error("reading the notification queue failed", "endpoint", e.Name, "err", err)
		}
		return n.opts.Poll
	}
	if len(rows) == 0 {
		return n.opts.Poll
	}
	// Envelopes go out one after the other; the rows of those answered are
	// removed together at the end, in one statement.
	var delivered []int64
	var wait time.Duration
	for len(rows) > 0 {
		if w := time.Until(rows[0].NextAt); w > 0 {
			// The head waits for its backoff; renew the lease before it
			// could run out.
			wait = min(w, n.opts.Lease/3)
			break
		}
		if time.Since(*claimed) > n.opts.Lease/3 {
			break // renew the lease first
		}
		b := batch(rows, e.MaxEvents, maxBody)
		if ok, w := n.deliverBatch(ctx, e, b); !ok {
			wait = w
			break
		}
		for _, r := range b {
			delivered = append(delivered, r.ID)
		}
		rows = rows[len(b):]
	}
	// A crash before this sends them again, which receivers drop by id.
	if err := n.store.AckNotifications(context.WithoutCancel(ctx), e.Name, delivered...); err != nil {
		n.log.Error("removing delivered notifications failed; they will be sent again", "endpoint", e.Name, "err", err)
		return n.opts.Poll
	}
	return wait
}

// batch returns the head of rows that one delivery carries: the events
// that failed together last time (they share the head's attempts), or the
// new ones, up to maxEvents events and maxBytes of bodies, and one row at
// least (a row holds as many events as maxevents allowed when it was
// written). A receiver that answered an error so gets the same envelope
// again.
func batch(rows []metadata.Notification, maxEvents, maxBytes int) []metadata.Notification {
	size, events := 0, 0
	for i, r := range rows {
		size += len(r.Body)
		events += max(r.Events, 1)
		if i > 0 && (r.Attempts != rows[0].Attempts || size > maxBytes || events > maxEvents) {
			return rows[:i]
		}
	}
	return rows
}

// eventsIn counts the events rows carry.
func eventsIn(rows []metadata.Notification) int {
	n := 0
	for _, r := range rows {
		n += max(r.Events, 1)
	}
	return n
}

// deliverBatch sends rows in one envelope and reports whether the
// receiver took it; on failure each row is marked for the retry, and the
// wait before it is returned.
func (n *Notifier) deliverBatch(ctx context.Context, e *endpoint, rows []metadata.Notification) (bool, time.Duration) {
	bodies := make([][]byte, len(rows))
	for i, r := range rows {
		bodies[i] = r.Body
	}
	if err := n.deliver(ctx, e, bodies); err != nil {
		if ctx.Err() != nil {
			return false, 0
		}
		e.failed.Add(1)
		attempts := rows[0].Attempts + 1
		delay := backoff(attempts, e.Threshold, e.Backoff, n.opts.MaxBackoff)
		n.log.Warn("notification delivery failed; retrying", "endpoint", e.Name, "url", redact(e.URL),
			"events", eventsIn(rows), "attempts", attempts, "retry_in", delay, "err", err)
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		if err := n.store.RetryNotifications(ctx, e.Name, time.Now().Add(delay), ids...); err != nil && !errors.Is(err, metadata.ErrNotFound) {
			n.log.Error("recording a failed notification failed", "endpoint", e.Name, "err", err)
			return false, n.opts.Poll
		}
		return false, delay
	}
	e.delivered.Add(int64(eventsIn(rows)))
	if rows[0].Attempts > 0 {
		n.log.Info("notification endpoint reachable again", "endpoint", e.Name, "after_attempts", rows[0].Attempts)
	}
	return true, 0
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

// deliver POSTs events to e in one envelope.
func (n *Notifier) deliver(ctx context.Context, e *endpoint, bodies [][]byte) error {
	body := envelope(bodies)
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
