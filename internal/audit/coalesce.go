package audit

import (
	"strconv"

	"wharf/internal/metadata"
)

// coalesce folds the pulls of one batch that repeat an earlier one of the
// batch — same actor, backend, address, repository and target — into that
// record, whose detail then counts them ("count"). A client pulling one
// image in a loop, or a build farm behind one address, then costs one row
// per batch instead of one per request; the first pull keeps its time and
// request id. Anything other than a pull is never folded. It runs before
// the records are formatted, so that a folded pull costs no formatting.
func coalesce(batch []entry) []entry {
	type key struct{ actor, source, addr, repo, digest, tag, target string }
	var seen map[key]int // index in out
	out := batch[:0]
	for _, e := range batch {
		if e.rec.Action != "pull" {
			out = append(out, e)
			continue
		}
		k := key{e.rec.Actor, e.rec.Source, e.rec.Addr, e.rec.Repository, e.ev.digest, e.ev.tag, e.rec.Target}
		if seen == nil {
			seen = make(map[key]int)
		}
		if i, ok := seen[k]; ok {
			out[i].count++
			continue
		}
		seen[k] = len(out)
		e.count = 1
		out = append(out, e)
	}
	// Clear the tail so the folded records' strings can be freed.
	clear(batch[len(out):])
	return out
}

// format turns entries into the rows to write, reusing dst.
func format(dst []metadata.AuditRecord, batch []entry) []metadata.AuditRecord {
	for i := range batch {
		e := &batch[i]
		if e.ev.set {
			e.rec.Target, e.rec.Detail = e.ev.target(), e.ev.detail()
		}
		if e.count > 1 {
			e.rec.Detail = withCount(e.rec.Detail, e.count)
		}
		dst = append(dst, e.rec)
	}
	return dst
}

// withCount adds "count": n to a detail object.
func withCount(detail string, n int) string {
	c := `"count":` + strconv.Itoa(n)
	if len(detail) < 2 || detail == "{}" {
		return "{" + c + "}"
	}
	return detail[:len(detail)-1] + "," + c + "}"
}
