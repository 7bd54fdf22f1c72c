package audit

import (
	"net/netip"
	"time"

	"wharf/internal/metadata"
)

// foldKey is what makes two pulls the same for folding: who, from where,
// which repository and which target. The user agent, size and media type
// are not part of it: the folded row keeps the first repeat's.
type foldKey struct {
	actor, repo, digest, tag string
	addr                     netip.Addr
}

// fold is one pull's window: the pulls that repeated it since it was
// written, waiting to be written as one row when the window ends.
type fold struct {
	key foldKey
	end time.Time
	// first is the first repeat (allocated when one comes: most pulls of
	// many clients never repeat), n how many there were and last the time
	// of the last one; n is 0 when none came.
	first *entry
	n     int64
	last  time.Time
}

// folder folds repeated pulls across batches. A pull that nothing within
// the window preceded is written at once; the same pull again (foldKey)
// within the window is counted, and all the repeats of one window are
// written as one row when it ends: its time and request id are the first
// repeat's, its count how many there were, its last time the last one's.
// A client pulling one image in a loop, or a build farm behind one address,
// then costs one row a window instead of one a request, and every pull is
// in the database at most a window (and a flush) after it happened. The
// writer goroutine alone uses it.
type folder struct {
	window time.Duration
	max    int // folds held at most; more pulls are written as they come
	m      map[foldKey]*fold
	// order holds the folds by the end of their window (all windows are
	// as long, and start when the writer sees them): order[head:] waits.
	order []*fold
	head  int
	fmt   formatter
}

func newFolder(window time.Duration, max int) *folder {
	return &folder{window: window, max: max, m: make(map[foldKey]*fold)}
}

// rows appends to dst the rows of the windows ended at now, then those of
// taken that are to be written now, in their order.
func (f *folder) rows(dst []metadata.AuditRecord, taken []entry, now time.Time) []metadata.AuditRecord {
	dst = f.expire(dst, now)
	for i := range taken {
		e := &taken[i]
		if foldable(e) && !f.add(e, now) {
			continue
		}
		dst = append(dst, f.fmt.row(e))
	}
	return dst
}

// foldable reports whether e may be folded: a registry pull, never a
// login, a denial, a change, a push or a delete.
func foldable(e *entry) bool { return e.ev.set && e.rec.Action == pullAction }

// add takes a foldable entry seen at now and reports whether it is to be
// written now; otherwise it is counted in its window.
func (f *folder) add(e *entry, now time.Time) bool {
	k := foldKey{actor: e.rec.Actor, repo: e.rec.Repository, digest: e.ev.digest, tag: e.ev.tag, addr: e.ev.addr}
	if w, ok := f.m[k]; ok {
		if w.n == 0 {
			w.first = new(entry)
			*w.first = *e
		}
		w.n++
		w.last = e.rec.Time
		return false
	}
	if len(f.m) < f.max {
		w := &fold{key: k, end: now.Add(f.window)}
		f.m[k] = w
		f.push(w)
	}
	return true
}

func (f *folder) push(w *fold) {
	if f.head > 0 && f.head >= len(f.order)/2 { // reuse the front half
		n := copy(f.order, f.order[f.head:])
		clear(f.order[n:])
		f.order, f.head = f.order[:n], 0
	}
	f.order = append(f.order, w)
}

// expire appends to dst the rows of the windows ended at now, and starts
// a new window for each that had repeats (the pulls of a loop go on
// folding) while forgetting those that had none.
func (f *folder) expire(dst []metadata.AuditRecord, now time.Time) []metadata.AuditRecord {
	for f.head < len(f.order) && !f.order[f.head].end.After(now) {
		w := f.order[f.head]
		f.order[f.head] = nil
		f.head++
		if w.n == 0 {
			delete(f.m, w.key)
			continue
		}
		dst = append(dst, f.row(w))
		w.first, w.n, w.last, w.end = nil, 0, time.Time{}, now.Add(f.window)
		f.push(w)
	}
	return dst
}

// all appends the rows of every window with repeats, ended or not, and
// empties f: the Log is closing.
func (f *folder) all(dst []metadata.AuditRecord) []metadata.AuditRecord {
	for _, w := range f.order[f.head:] {
		if w.n > 0 {
			dst = append(dst, f.row(w))
		}
	}
	clear(f.order)
	f.order, f.head = f.order[:0], 0
	clear(f.m)
	return dst
}

// row is the repeats of w's window as one record.
func (f *folder) row(w *fold) metadata.AuditRecord {
	r := f.fmt.row(w.first)
	r.Count = w.n
	if w.n > 1 {
		r.Last = w.last
	}
	return r
}
