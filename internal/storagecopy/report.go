package storagecopy

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"wharf/internal/progress"
)

// Report is what a copy found and did; wharf migrate-storage --json writes
// it as it is.
type Report struct {
	From   string `json:"from"`
	To     string `json:"to"`
	DryRun bool   `json:"dry_run"`
	// Blobs and Bytes are the source's committed blobs.
	Blobs int64 `json:"blobs"`
	Bytes int64 `json:"bytes"`
	// Copied were written to the destination (on a dry run: would be).
	Copied      int64 `json:"copied"`
	CopiedBytes int64 `json:"copied_bytes"`
	// Present were at the destination already with the right bytes (on
	// a dry run: with the right size, not yet hashed).
	Present      int64 `json:"present"`
	PresentBytes int64 `json:"present_bytes"`
	// Replaced counts, among Copied, the blobs whose destination copy had
	// other bytes and was written again.
	Replaced int64 `json:"replaced"`
	// Resumed counts, among Copied, the blobs an interrupted run had
	// begun: its ResumedBytes staged bytes were hashed and kept.
	Resumed      int64 `json:"resumed"`
	ResumedBytes int64 `json:"resumed_bytes"`
	// Vanished were deleted at the source between the listing and their
	// copy (garbage collection beside a running server).
	Vanished int64     `json:"vanished"`
	Failed   []Failure `json:"failed"`
	// StagedUploads are pushes in progress at the source. They are not
	// copied: their clients start them again.
	StagedUploads int     `json:"staged_uploads"`
	Seconds       float64 `json:"seconds"`
}

// Failure is a blob that was not copied, and why.
type Failure struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	Error  string        `json:"error"`
}

func (r *Report) finish(took time.Duration) {
	r.Seconds = took.Seconds()
	slices.SortFunc(r.Failed, func(a, b Failure) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	if r.Failed == nil {
		r.Failed = []Failure{}
	}
}

// WriteText writes the report for a person.
func WriteText(w io.Writer, r *Report) {
	verb, have := "copied", "already present and verified"
	if r.DryRun {
		verb, have = "to copy", "already present (same size; a run hashes them)"
	}
	fmt.Fprintf(w, "source %s: %d blobs, %s\n", r.From, r.Blobs, progress.Bytes(r.Bytes))
	fmt.Fprintf(w, "destination %s:\n", r.To)
	fmt.Fprintf(w, "  %s: %d blobs, %s\n", verb, r.Copied, progress.Bytes(r.CopiedBytes))
	if r.Replaced > 0 {
		fmt.Fprintf(w, "    of which %d replaced a damaged copy at the destination\n", r.Replaced)
	}
	fmt.Fprintf(w, "  %s: %d blobs, %s\n", have, r.Present, progress.Bytes(r.PresentBytes))
	if r.Resumed > 0 {
		fmt.Fprintf(w, "    of which %d went on from an interrupted run's %s\n", r.Resumed, progress.Bytes(r.ResumedBytes))
	}
	if r.Vanished > 0 {
		fmt.Fprintf(w, "  deleted at the source since listed: %d blobs (not copied)\n", r.Vanished)
	}
	if len(r.Failed) > 0 {
		fmt.Fprintf(w, "  failed: %d blobs (run again to retry them):\n", len(r.Failed))
		for _, f := range r.Failed {
			fmt.Fprintf(w, "    %s: %s\n", f.Digest, f.Error)
		}
	}
	if r.StagedUploads > 0 {
		fmt.Fprintf(w, "not copied: %d uploads in progress at the source (their clients push again; stop wharf serve before the last run to leave none)\n", r.StagedUploads)
	}
	fmt.Fprintf(w, "took %s\n", time.Duration(r.Seconds*float64(time.Second)).Round(time.Millisecond))
}
