package audit

import (
	"net/netip"

	"wharf/internal/metadata"
)

// entry is a queued record with its arrival order. A registry event's
// target and detail, and any record's address, are formatted by the
// writer, off the request's path: the entry keeps their parts (ev).
type entry struct {
	seq int64
	rec metadata.AuditRecord
	ev  eventParts
}

// eventParts are what an event's target and detail are made of (set), and
// the client's address when the record's Addr is to be formatted from it.
type eventParts struct {
	set                          bool
	digest, tag, mediaType, from string
	userAgent                    string
	size                         int64
	addr                         netip.Addr
}

// formatter turns entries into the records to write, formatting an
// address, a target and a detail from their parts. It reuses the strings
// of the entry before when the parts are the same: the pulls of a batch
// mostly name one image from one kind of client, and each string saved is
// an allocation and, for the detail, a pass over the user agent.
type formatter struct {
	ev             eventParts // the last event's parts, set when it was one
	target, detail string
	addr           netip.Addr
	addrText       string
}

// row is e's record with its address, target and detail formatted.
func (f *formatter) row(e *entry) metadata.AuditRecord {
	r := e.rec
	if a := e.ev.addr; a.IsValid() {
		if a != f.addr {
			f.addr, f.addrText = a, a.String()
		}
		r.Addr = f.addrText
	}
	if p := &e.ev; p.set {
		if p.digest != f.ev.digest || p.tag != f.ev.tag || !f.ev.set {
			f.target = p.target()
		}
		if p.mediaType != f.ev.mediaType || p.from != f.ev.from || p.userAgent != f.ev.userAgent || p.size != f.ev.size || !f.ev.set {
			f.detail = p.detail()
		}
		f.ev = *p
		r.Target, r.Detail = f.target, f.detail
	}
	return r
}

// blockSize is how many entries one block of a fifo holds: a queue grows
// and shrinks by blocks, so a push never copies the entries queued before
// it (a slice that doubles would copy megabytes on the request's path).
const blockSize = 128

type block struct {
	items [blockSize]entry
	next  *block
}

// maxSpares is how many emptied blocks a fifo keeps for its next pushes
// (about 430 KB): a busy queue then allocates nothing.
const maxSpares = 8

// fifo is a queue of entries in blocks, whose front is dropped or taken
// in O(1). Emptied blocks are kept (up to maxSpares) for the next pushes.
type fifo struct {
	head, tail *block
	// first is the index of the front entry in head, end one past the
	// last entry in tail.
	first, end int
	n          int
	spares     []*block
}

func (f *fifo) release(b *block) {
	b.next = nil
	if len(f.spares) < maxSpares {
		f.spares = append(f.spares, b)
	}
}

func (f *fifo) len() int { return f.n }

func (f *fifo) push(e entry) {
	if f.tail == nil || f.end == blockSize {
		var b *block
		if n := len(f.spares); n > 0 {
			b, f.spares = f.spares[n-1], f.spares[:n-1]
		} else {
			b = new(block)
		}
		if f.tail == nil {
			f.head, f.first = b, 0
		} else {
			f.tail.next = b
		}
		f.tail, f.end = b, 0
	}
	f.tail.items[f.end] = e
	f.end++
	f.n++
}

func (f *fifo) front() *entry { return &f.head.items[f.first] }

func (f *fifo) pop() entry {
	e := f.head.items[f.first]
	f.head.items[f.first] = entry{} // let the strings go
	f.first++
	f.n--
	switch {
	case f.n == 0:
		f.release(f.head)
		f.head, f.tail, f.first, f.end = nil, nil, 0, 0
	case f.first == blockSize:
		done := f.head
		f.head, f.first = done.next, 0
		f.release(done)
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

// take appends up to n entries to dst in arrival order and removes them.
func (q *queue) take(dst []entry, n int) []entry {
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
		dst = append(dst, f.pop())
	}
	return dst
}
