package metadata

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Notification is one event queued for one webhook endpoint.
type Notification struct {
	ID       int64
	Endpoint string
	// Body is the event as the endpoint receives it; the store does not
	// read it.
	Body      []byte
	CreatedAt time.Time
	// Attempts counts the failed deliveries so far; NextAt is when the
	// next may start (zero: at once).
	Attempts int
	NextAt   time.Time
}

// NotifyEndpoint is an endpoint's queue as a whole: its backlog, the events
// dropped past its bound since it was first used, and who delivers it.
type NotifyEndpoint struct {
	Endpoint   string
	Pending    int64
	Dropped    int64
	Owner      string
	LeaseUntil time.Time
}

// Enqueue adds notifications in one transaction, each endpoint's in the
// order given, and keeps each endpoint's backlog within bound(endpoint)
// (0: unbounded) by deleting its oldest rows. It returns how many were
// dropped per endpoint.
func (s *Store) Enqueue(ctx context.Context, ns []Notification, bound func(endpoint string) int) (map[string]int64, error) {
	if len(ns) == 0 {
		return nil, nil
	}
	for _, n := range ns {
		if n.Endpoint == "" {
			return nil, errors.New("metadata: enqueue notifications: empty endpoint name")
		}
		if err := checkKey("endpoint name", n.Endpoint); err != nil {
			return nil, wrap("enqueue notifications", err)
		}
	}
	s.prepareInserts(ctx, ns)
	var dropped map[string]int64
	err := s.inTx(ctx, func(c conn) error {
		dropped = map[string]int64{}
		added := map[string]int64{}
		var order []string
		for _, n := range ns {
			if added[n.Endpoint] == 0 {
				order = append(order, n.Endpoint)
			}
			added[n.Endpoint]++
		}
		// Endpoint rows first, in one order for every writer, so that
		// concurrent transactions queue on them instead of deadlocking.
		for _, ep := range order {
			if err := ensureNotifyEndpoint(ctx, c, ep); err != nil {
				return err
			}
			if _, err := c.exec(ctx, `UPDATE notify_endpoints SET pending = pending + ? WHERE endpoint = ?`, added[ep], ep); err != nil {
				return err
			}
		}
		if err := insertNotifications(ctx, c, ns); err != nil {
			return err
		}
		for _, ep := range order {
			limit := 0
			if bound != nil {
				limit = bound(ep)
			}
			if limit <= 0 {
				continue
			}
			n, err := trimNotifications(ctx, c, ep, int64(limit))
			if err != nil {
				return err
			}
			if n > 0 {
				dropped[ep] = n
			}
		}
		return nil
	})
	return dropped, wrap("enqueue notifications", err)
}

// notifyMaxRows is the most notifications one INSERT writes (3 parameters
// each: far within the 32766 of SQLite, the lowest limit of the three
// databases), and notifyMaxBytes the most body bytes it carries, so that a
// flush of large events (a manifest's references) stays well inside
// MariaDB's max_allowed_packet (64 MiB by default).
const (
	notifyMaxRows  = 1024
	notifyMaxBytes = 4 << 20
)

// notifyInsert is the INSERT of a power of two notifications: a flush of
// n rows takes one statement per bit of n, each prepared once, rather than
// one statement per row.
var notifyInsert = newMultiRowInsert("notify_events", "endpoint, body, created_at, attempts, next_at", "(?, ?, ?, 0, 0)")

// notifySplit returns how many of ns the next INSERT writes: the largest
// power of two that is at most len(ns) and notifyMaxRows and whose bodies
// fit notifyMaxBytes (one row at least, however large).
func notifySplit(ns []Notification) int {
	n := powerOfTwoAtMost(len(ns), notifyMaxRows)
	size := 0
	for i, x := range ns[:n] {
		if size += len(x.Body); size > notifyMaxBytes && i > 0 {
			return powerOfTwoAtMost(i, i)
		}
	}
	return n
}

// insertNotifications inserts ns in order, in multi-row statements
// (notifySplit).
func insertNotifications(ctx context.Context, c conn, ns []Notification) error {
	args := make([]any, 0, 3*notifySplit(ns))
	now := time.Now()
	for len(ns) > 0 {
		k := notifySplit(ns)
		args = args[:0]
		for _, n := range ns[:k] {
			created := n.CreatedAt
			if created.IsZero() {
				created = now
			}
			args = append(args, n.Endpoint, n.Body, unixNano(created))
		}
		if _, err := c.exec(ctx, notifyInsert.text(c, k), args...); err != nil {
			return err
		}
		ns = ns[k:]
	}
	return nil
}

// prepareInserts prepares, outside a transaction (which only looks
// statements up: see conn.stmt), the INSERTs insertNotifications will run
// for ns.
func (s *Store) prepareInserts(ctx context.Context, ns []Notification) {
	r := s.read()
	for len(ns) > 0 {
		k := notifySplit(ns)
		r.stmt(ctx, notifyInsert.text(r, k))
		ns = ns[k:]
	}
}

func ensureNotifyEndpoint(ctx context.Context, c conn, endpoint string) error {
	_, err := c.exec(ctx, c.d.insertIgnore("notify_endpoints", "endpoint", "endpoint"), endpoint)
	return err
}

// trimNotifications deletes the oldest notifications of endpoint past limit
// and counts them as dropped. The pending counter makes the common case
// (within the bound) one read, and the excess is found by skipping only
// the rows that go.
func trimNotifications(ctx context.Context, c conn, endpoint string, limit int64) (int64, error) {
	var pending int64
	if err := c.queryRow(ctx, `SELECT pending FROM notify_endpoints WHERE endpoint = ?`, endpoint).Scan(&pending); err != nil {
		return 0, err
	}
	excess := pending - limit
	if excess <= 0 {
		return 0, nil
	}
	var last int64
	if err := c.queryRow(ctx, `SELECT id FROM notify_events WHERE endpoint = ? ORDER BY id LIMIT 1 OFFSET ?`, endpoint, excess-1).Scan(&last); err != nil {
		return 0, err
	}
	res, err := c.exec(ctx, `DELETE FROM notify_events WHERE endpoint = ? AND id <= ?`, endpoint, last)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	_, err = c.exec(ctx, `UPDATE notify_endpoints SET pending = pending - ?, dropped = dropped + ? WHERE endpoint = ?`, n, n, endpoint)
	return n, err
}

// ClaimNotifyEndpoint takes or renews owner's lease on delivering
// endpoint's queue until now+lease, and reports whether owner holds it:
// false while another owner's lease runs.
func (s *Store) ClaimNotifyEndpoint(ctx context.Context, endpoint, owner string, lease time.Duration) (bool, error) {
	if err := checkKey("endpoint name", endpoint); err != nil {
		return false, wrap("claim notification endpoint", err)
	}
	now := time.Now()
	var held bool
	err := s.inTx(ctx, func(c conn) error {
		if err := ensureNotifyEndpoint(ctx, c, endpoint); err != nil {
			return err
		}
		res, err := c.exec(ctx, `UPDATE notify_endpoints SET owner = ?, lease_until = ? WHERE endpoint = ? AND (owner = ? OR lease_until < ?)`,
			owner, unixNano(now.Add(lease)), endpoint, owner, unixNano(now))
		err = affectedOne(res, err)
		held = err == nil
		if errors.Is(err, ErrNotFound) {
			return nil // another owner's lease runs
		}
		return err
	})
	return held, wrap("claim notification endpoint", err)
}

// ReleaseNotifyEndpoint ends owner's lease on endpoint, if it holds it, so
// that another process may deliver at once.
func (s *Store) ReleaseNotifyEndpoint(ctx context.Context, endpoint, owner string) error {
	_, err := s.read().exec(ctx, `UPDATE notify_endpoints SET lease_until = 0 WHERE endpoint = ? AND owner = ?`, endpoint, owner)
	return wrap("release notification endpoint", err)
}

// PendingNotifications returns up to n of endpoint's oldest notifications,
// in the order they were queued.
func (s *Store) PendingNotifications(ctx context.Context, endpoint string, n int) ([]Notification, error) {
	rows, err := s.read().query(ctx, `SELECT id, body, created_at, attempts, next_at FROM notify_events WHERE endpoint = ? ORDER BY id LIMIT ?`,
		endpoint, limit(n))
	if err != nil {
		return nil, wrap("pending notifications", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var (
			n               Notification
			created, nextAt int64
			attempts        int64
		)
		if err := rows.Scan(&n.ID, &n.Body, &created, &attempts, &nextAt); err != nil {
			return nil, wrap("pending notifications", err)
		}
		n.Endpoint, n.CreatedAt, n.Attempts, n.NextAt = endpoint, fromUnixNano(created), int(attempts), timeOrZero(nextAt)
		out = append(out, n)
	}
	return out, wrap("pending notifications", rows.Err())
}

// maxAckIDs is the most ids one DELETE or UPDATE of notifications names: a
// sender's whole batch (config caps an endpoint's maxevents at it), within
// every database's parameter limit.
const maxAckIDs = 1000

// AckNotifications removes delivered notifications of endpoint, in one
// transaction however many, with one DELETE for up to maxAckIDs of them.
// Ids already gone (a redelivery, or dropped past the bound) are not an
// error. Exactly these ids go, not a range: a notification another replica
// committed meanwhile with a smaller id stays queued.
func (s *Store) AckNotifications(ctx context.Context, endpoint string, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(c conn) error {
		// The endpoint row first, as Enqueue locks it, so the two queue.
		if _, err := c.exec(ctx, `UPDATE notify_endpoints SET pending = pending WHERE endpoint = ?`, endpoint); err != nil {
			return err
		}
		gone, err := execIDs(ctx, c, `DELETE FROM notify_events WHERE endpoint = ? AND id IN `, []any{endpoint}, ids)
		if err != nil || gone == 0 {
			return err
		}
		_, err = c.exec(ctx, `UPDATE notify_endpoints SET pending = pending - ? WHERE endpoint = ?`, gone, endpoint)
		return err
	})
	return wrap("ack notifications", err)
}

// execIDs runs prefix, a statement ending in "id IN ", with args then ids
// as the list, maxAckIDs ids per statement, and returns the rows affected.
// The list's text is not cached as a prepared statement: its length
// varies with every batch.
func execIDs(ctx context.Context, c conn, prefix string, args []any, ids []int64) (int64, error) {
	var affected int64
	for rest := ids; len(rest) > 0; {
		k := min(len(rest), maxAckIDs)
		all := append(make([]any, 0, len(args)+k), args...)
		for _, id := range rest[:k] {
			all = append(all, id)
		}
		q := c.rebind(prefix + "(" + strings.TrimSuffix(strings.Repeat("?, ", k), ", ") + ")")
		res, err := c.q.ExecContext(ctx, q, all...)
		if err != nil {
			return affected, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return affected, err
		}
		affected += n
		rest = rest[k:]
	}
	return affected, nil
}

// RetryNotifications records a failed delivery of the notifications ids
// (one envelope): the attempts of each grow by one and the next attempt
// waits until next. Marking every one of them, not only the head, keeps
// the envelope whole: the sender sends the same ones again (see
// notify's batch). ErrNotFound if none of them is left.
func (s *Store) RetryNotifications(ctx context.Context, endpoint string, next time.Time, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(c conn) error {
		n, err := execIDs(ctx, c, `UPDATE notify_events SET attempts = attempts + 1, next_at = ? WHERE endpoint = ? AND id IN `,
			[]any{unixNano(next), endpoint}, ids)
		if err == nil && n == 0 {
			err = ErrNotFound
		}
		return err
	})
	return wrap("retry notifications", err)
}

// NotifyEndpoints returns the state of every endpoint that ever had a
// notification queued or a sender, by name.
func (s *Store) NotifyEndpoints(ctx context.Context) ([]NotifyEndpoint, error) {
	rows, err := s.read().query(ctx, `SELECT endpoint, pending, dropped, owner, lease_until FROM notify_endpoints ORDER BY endpoint`)
	if err != nil {
		return nil, wrap("notification endpoints", err)
	}
	defer rows.Close()
	var out []NotifyEndpoint
	for rows.Next() {
		var (
			e     NotifyEndpoint
			until int64
		)
		if err := rows.Scan(&e.Endpoint, &e.Pending, &e.Dropped, &e.Owner, &until); err != nil {
			return nil, wrap("notification endpoints", err)
		}
		e.LeaseUntil = timeOrZero(until)
		out = append(out, e)
	}
	return out, wrap("notification endpoints", rows.Err())
}
