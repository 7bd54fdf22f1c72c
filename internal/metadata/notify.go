package metadata

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Notification is a row of one webhook endpoint's queue: one event, or
// several queued together.
type Notification struct {
	ID       int64
	Endpoint string
	// Body is the events as the endpoint receives them, joined by commas;
	// the store does not read it. Events says how many it carries (0 is
	// read as 1): the backlog and its bound count events, not rows.
	Body      []byte
	Events    int
	CreatedAt time.Time
	// Attempts counts the failed deliveries so far; NextAt is when the
	// next may start (zero: at once).
	Attempts int
	NextAt   time.Time
}

// events is how many events n carries.
func (n *Notification) events() int64 { return int64(max(n.Events, 1)) }

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
// events (0: unbounded) by deleting its oldest rows, whole. It returns how
// many events were dropped per endpoint.
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
		for i := range ns {
			n := &ns[i]
			if added[n.Endpoint] == 0 {
				order = append(order, n.Endpoint)
			}
			added[n.Endpoint] += n.events()
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

// notifyMaxRows is the most notifications one INSERT writes (4 parameters
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
var notifyInsert = newMultiRowInsert("notify_events", "endpoint, body, events, created_at, attempts, next_at", "(?, ?, ?, ?, 0, 0)")

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
	args := make([]any, 0, 4*notifySplit(ns))
	now := time.Now()
	for len(ns) > 0 {
		k := notifySplit(ns)
		args = args[:0]
		for i := range ns[:k] {
			n := &ns[i]
			created := n.CreatedAt
			if created.IsZero() {
				created = now
			}
			args = append(args, n.Endpoint, n.Body, n.events(), unixNano(created))
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

// trimNotifications deletes the oldest rows of endpoint until at most
// limit events are left, and counts their events as dropped: a row goes
// whole, so up to one row's events fewer than limit may be left. The
// pending counter makes the common case (within the bound) one read, and
// the excess is found by reading only the rows that go (the endpoint's row,
// locked first, keeps other writers of the queue out meanwhile).
func trimNotifications(ctx context.Context, c conn, endpoint string, limit int64) (int64, error) {
	var pending int64
	if err := c.queryRow(ctx, `SELECT pending FROM notify_endpoints WHERE endpoint = ?`, endpoint).Scan(&pending); err != nil {
		return 0, err
	}
	excess := pending - limit
	if excess <= 0 {
		return 0, nil
	}
	rows, err := c.query(ctx, `SELECT id, events FROM notify_events WHERE endpoint = ? ORDER BY id LIMIT ?`, endpoint, excess)
	if err != nil {
		return 0, err
	}
	var last, gone int64
	for gone < excess && rows.Next() {
		var n int64
		if err := rows.Scan(&last, &n); err != nil {
			rows.Close()
			return 0, err
		}
		gone += n
	}
	rows.Close()
	if err := rows.Err(); err != nil || gone == 0 {
		return 0, err
	}
	if _, err := c.exec(ctx, `DELETE FROM notify_events WHERE endpoint = ? AND id <= ?`, endpoint, last); err != nil {
		return 0, err
	}
	_, err = c.exec(ctx, `UPDATE notify_endpoints SET pending = pending - ?, dropped = dropped + ? WHERE endpoint = ?`, gone, gone, endpoint)
	return gone, err
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

// PendingNotifications returns endpoint's oldest notifications, in the
// order they were queued, as many rows as carry up to most events between
// them (all with most <= 0), and one row at least: the bodies in memory
// stay within most events however the rows were written.
func (s *Store) PendingNotifications(ctx context.Context, endpoint string, most int) ([]Notification, error) {
	rows, err := s.read().query(ctx, `SELECT id, body, events, created_at, attempts, next_at FROM notify_events WHERE endpoint = ? ORDER BY id LIMIT ?`,
		endpoint, limit(most))
	if err != nil {
		return nil, wrap("pending notifications", err)
	}
	defer rows.Close()
	var out []Notification
	total := int64(0)
	for rows.Next() {
		var (
			n                      Notification
			created, nextAt        int64
			attempts, eventsInBody int64
		)
		if err := rows.Scan(&n.ID, &n.Body, &eventsInBody, &created, &attempts, &nextAt); err != nil {
			return nil, wrap("pending notifications", err)
		}
		if total += max(eventsInBody, 1); most > 0 && len(out) > 0 && total > int64(most) {
			break
		}
		n.Endpoint, n.Events, n.CreatedAt, n.Attempts, n.NextAt = endpoint, int(eventsInBody), fromUnixNano(created), int(attempts), timeOrZero(nextAt)
		out = append(out, n)
	}
	return out, wrap("pending notifications", rows.Err())
}

// maxAckIDs is the most ids one DELETE or UPDATE of notifications names: a
// sender's whole batch (config caps an endpoint's maxevents at it), within
// every database's parameter limit.
const maxAckIDs = 1000

// AckNotifications removes delivered notifications of endpoint, in one
// transaction however many, with one DELETE for up to maxAckIDs of them,
// and takes their events off the backlog.
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
		// The events of those still queued, read under the endpoint's
		// lock: a row already gone does not count twice.
		var gone int64
		err := forIDs(ids, func(list string, some []any) error {
			rows, err := c.q.QueryContext(ctx, c.rebind(`SELECT events FROM notify_events WHERE endpoint = ? AND id IN `+list), append([]any{endpoint}, some...)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var n int64
				if err := rows.Scan(&n); err != nil {
					return err
				}
				gone += max(n, 1)
			}
			return rows.Err()
		})
		if err != nil || gone == 0 {
			return err
		}
		if _, err := execIDs(ctx, c, `DELETE FROM notify_events WHERE endpoint = ? AND id IN `, []any{endpoint}, ids); err != nil {
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
	err := forIDs(ids, func(list string, some []any) error {
		res, err := c.q.ExecContext(ctx, c.rebind(prefix+list), append(append(make([]any, 0, len(args)+len(some)), args...), some...)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		affected += n
		return err
	})
	return affected, err
}

// forIDs calls f with ids maxAckIDs at a time: the text of their list,
// "(?, ?, …)", and the ids as arguments.
func forIDs(ids []int64, f func(list string, some []any) error) error {
	for rest := ids; len(rest) > 0; {
		k := min(len(rest), maxAckIDs)
		some := make([]any, k)
		for i, id := range rest[:k] {
			some[i] = id
		}
		if err := f("("+strings.TrimSuffix(strings.Repeat("?, ", k), ", ")+")", some); err != nil {
			return err
		}
		rest = rest[k:]
	}
	return nil
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
