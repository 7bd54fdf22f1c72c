package importer

import (
	"fmt"
	"io"
	"time"

	"wharf/internal/progress"
)

// Progress shows how far an import is, on stderr: on a terminal one line
// redrawn in place, otherwise a plain line every interval and after each
// repository (for logs). Notes and problems go on lines of their own.
type Progress struct {
	line         *progress.Line
	totals, done counts // changed under line's lock (Update)
}

type counts struct {
	repos, manifests, blobs int
	bytes                   int64
}

// NewProgress writes to out; terminal says whether someone watches it.
// interval spaces the plain lines (zero: every 10 seconds).
func NewProgress(out io.Writer, terminal bool, interval time.Duration) *Progress {
	return &Progress{line: progress.New(out, terminal, interval, "import", "importing")}
}

// start sets the totals and starts the display.
func (p *Progress) start(t counts) {
	p.line.Update(func() { p.totals = t })
	p.line.Start(func() string {
		return fmt.Sprintf("repositories %d/%d  manifests %d/%d  blobs %d/%d  %s/%s",
			p.done.repos, p.totals.repos, p.done.manifests, p.totals.manifests, p.done.blobs, p.totals.blobs,
			humanBytes(p.done.bytes), humanBytes(p.totals.bytes))
	})
}

// finish stops the display and leaves the last line drawn.
func (p *Progress) finish() { p.line.Finish() }

// Note writes a line of its own.
func (p *Progress) Note(msg string) { p.line.Note(msg) }

// AddBytes counts bytes read from the tree.
func (p *Progress) AddBytes(n int64) {
	p.line.Update(func() { p.done.bytes += n })
}

func (p *Progress) add(manifests, blobs int) {
	p.line.Update(func() {
		p.done.manifests += manifests
		p.done.blobs += blobs
	})
}

// repoDone counts a finished repository; on a log it says so.
func (p *Progress) repoDone(name string) {
	p.line.Milestone(func() { p.done.repos++ }, "repository "+name+" done")
}

// humanBytes writes n in the largest binary unit under it.
func humanBytes(n int64) string { return progress.Bytes(n) }

// plural is "1 tag", "2 tags"; many is the plural when it is not word+"s".
func plural(n int, word string, many ...string) string {
	if n == 1 {
		return "1 " + word
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, word)
}
