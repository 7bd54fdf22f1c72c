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
// request id. Anything other than a pull is never folded.
func coalesce(batch []metadata.AuditRecord) []metadata.AuditRecord {
	type key struct{ actor, source, addr, repo, target string }
	var seen map[key]int // index in out
	counts := map[int]int{}
	out := batch[:0]
	for _, r := range batch {
		if r.Action != "pull" {
			out = append(out, r)
			continue
		}
		k := key{r.Actor, r.Source, r.Addr, r.Repository, r.Target}
		if seen == nil {
			seen = make(map[key]int)
		}
		if i, ok := seen[k]; ok {
			counts[i]++
			continue
		}
		seen[k] = len(out)
		out = append(out, r)
	}
	for i, extra := range counts {
		out[i].Detail = withCount(out[i].Detail, extra+1)
	}
	// Clear the tail so the folded records' strings can be freed.
	clear(batch[len(out):])
	return out
}

// withCount adds "count": n to a detail object.
func withCount(detail string, n int) string {
	c := `"count":` + strconv.Itoa(n)
	if len(detail) < 2 || detail == "{}" {
		return "{" + c + "}"
	}
	return detail[:len(detail)-1] + "," + c + "}"
}
