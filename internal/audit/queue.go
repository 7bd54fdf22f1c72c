package audit

import "wharf/internal/metadata"

// entry is a queued record with its arrival order. A registry event's
// target and detail are formatted by the writer, off the request's path:
// the entry keeps their parts (ev).
type entry struct {
	seq int64
	rec metadata.AuditRecord
	ev  eventParts
}

// eventParts are what an event's target and detail are made of.
type eventParts struct {
	set                          bool
	digest, tag, mediaType, from string
	userAgent                    string
	size                         int64
}

// fifo is a queue of entries whose front is dropped or taken in O(1).
type fifo struct {
	items []entry
	head  int
}

func (f *fifo) len() int { return len(f.items) - f.head }

func (f *fifo) push(e entry) { f.items = append(f.items, e) }

func (f *fifo) front() *entry { return &f.items[f.head] }

func (f *fifo) pop() entry {
	e := f.items[f.head]
	f.items[f.head] = entry{} // let the strings go
	f.head++
	if f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	} else if f.head > 1024 && f.head*2 > len(f.items) {
		f.items = append(f.items[:0], f.items[f.head:]...)
		f.head = 0
	}
	return e
}

// queue holds records waiting for the database, at most max of them:
// routine ones (pulls, successful logins) apart from the others, so that a
// full queue drops the oldest routine record in O(1) and the writer still
// takes them all in arrival order.
type queue struct {
	max              int
	seq              int64
	routine, other   fifo
	droppedRoutine   int64
	droppedImportant int64
}

// add queues r; a full queue first drops its oldest routine record, and
// only when it holds none drops the oldest of the others (or r itself,
// when r is routine).
func (q *queue) add(r metadata.AuditRecord, ev eventParts, routine bool) {
	if q.routine.len()+q.other.len() >= q.max {
		switch {
		case q.routine.len() > 0:
			q.routine.pop()
			q.droppedRoutine++
		case routine:
			q.droppedRoutine++
			return
		default:
			q.other.pop()
			q.droppedImportant++
		}
	}
	q.seq++
	e := entry{seq: q.seq, rec: r, ev: ev}
	if routine {
		q.routine.push(e)
	} else {
		q.other.push(e)
	}
}

func (q *queue) len() int { return q.routine.len() + q.other.len() }

// take appends up to n records to dst in arrival order and removes them.
func (q *queue) take(dst []metadata.AuditRecord, n int) []metadata.AuditRecord {
	for ; n > 0; n-- {
		var f *fifo
		switch {
		case q.routine.len() == 0 && q.other.len() == 0:
			return dst
		case q.routine.len() == 0:
			f = &q.other
		case q.other.len() == 0:
			f = &q.routine
		case q.routine.front().seq < q.other.front().seq:
			f = &q.routine
		default:
			f = &q.other
		}
		e := f.pop()
		if e.ev.set {
			e.rec.Target, e.rec.Detail = e.ev.target(), e.ev.detail()
		}
		dst = append(dst, e.rec)
	}
	return dst
}
