package fsck

import (
	"fmt"
	"io"
	"strings"

	"wharf/internal/progress"
)

// WriteText writes the report for a person: each problem with what it
// affects, then the orphans, what was not checked, and a summary.
func WriteText(w io.Writer, r *Report) {
	for _, p := range r.Problems {
		where := ""
		if p.Repository != "" {
			where = fmt.Sprintf(" (manifest %s in %s)", p.Manifest, p.Repository)
		}
		fmt.Fprintf(w, "problem: %s %s%s: %s\n", p.Kind, p.Digest, where, p.Detail)
		if len(p.Repositories) > 0 {
			fmt.Fprintf(w, "  repositories: %s\n", strings.Join(p.Repositories, ", "))
		}
		if len(p.Tags) > 0 {
			fmt.Fprintf(w, "  tags that cannot be pulled: %s\n", strings.Join(p.Tags, ", "))
		}
		if p.Repair != "" {
			fmt.Fprintf(w, "  repair: %s\n", p.Repair)
		}
	}
	for _, t := range r.Untagged {
		fmt.Fprintf(w, "untagged: %s (its manifest cannot be pulled; push the image again to restore it)\n", t)
	}
	if n := len(r.Orphans); n > 0 {
		fmt.Fprintf(w, "orphans: %d blobs (%s) in storage have no row: not a problem, garbage collection's to remove\n",
			n, progress.Bytes(r.OrphanBytes))
	}
	if r.NotFetched > 0 {
		fmt.Fprintf(w, "not fetched yet: %d references of cached manifests: not a problem, the pull-through cache fetches them on their first pull\n",
			r.NotFetched)
	}
	for _, u := range r.Unchecked {
		fmt.Fprintf(w, "not checked: %s\n", u)
	}
	fmt.Fprintf(w, "checked %d blobs (%s, every byte hashed), %d manifests, %d tags in %.1fs: %d problems\n",
		r.Blobs, progress.Bytes(r.Bytes), r.Manifests, r.Tags, r.Seconds, len(r.Problems))
}
