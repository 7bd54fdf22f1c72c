package importer

import (
	"fmt"
	"io"
	"sync"
	"time"

	"wharf/internal/progress"
)

// Progress shows how far an import is, on stderr: on a terminal one line
// redrawn in place, otherwise a plain line every interval and after each
// repository (for logs). Notes and problems go on lines of their own.
type Progress struct {
	out      io.Writer
	terminal bool
	interval time.Duration

	mu           sync.Mutex
	totals, done counts
	lastLine     time.Time
	drawn        bool
	stop         chan struct{}
	stopped      sync.WaitGroup
}

type counts struct {
	repos, manifests, blobs int
	bytes                   int64
}

// NewProgress writes to out; terminal says whether someone watches it.
// interval spaces the plain lines (zero: every 10 seconds).
func NewProgress(out io.Writer, terminal bool, interval time.Duration) *Progress {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	return &Progress{out: out, terminal: terminal, interval: interval}
}

// start sets the totals and starts the display.
func (p *Progress) start(t counts) {
	p.mu.Lock()
	p.totals = t
	p.lastLine = time.Now()
	p.stop = make(chan struct{})
	p.mu.Unlock()
	period := p.interval
	if p.terminal {
		period = 200 * time.Millisecond
	}
	p.stopped.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.mu.Lock()
				p.show(false)
				p.mu.Unlock()
			}
		}
	})
}

// finish stops the display and leaves the last line drawn.
func (p *Progress) finish() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	p.stopped.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		p.show(false)
		if p.drawn {
			fmt.Fprintln(p.out)
			p.drawn = false
		}
	}
}

// show draws the counter line: in place on a terminal; on a log when the
// interval has passed, or always with force.
func (p *Progress) show(force bool) {
	if !p.terminal && !force && time.Since(p.lastLine) < p.interval {
		return
	}
	line := fmt.Sprintf("repositories %d/%d  manifests %d/%d  blobs %d/%d  %s/%s",
		p.done.repos, p.totals.repos, p.done.manifests, p.totals.manifests, p.done.blobs, p.totals.blobs,
		humanBytes(p.done.bytes), humanBytes(p.totals.bytes))
	if p.terminal {
		fmt.Fprintf(p.out, "\r\x1b[Kimporting: %s", line)
		p.drawn = true
		return
	}
	fmt.Fprintf(p.out, "import: %s\n", line)
	p.lastLine = time.Now()
}

// Note writes a line of its own.
func (p *Progress) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintln(p.out, msg)
}

// AddBytes counts bytes read from the tree.
func (p *Progress) AddBytes(n int64) {
	p.mu.Lock()
	p.done.bytes += n
	p.mu.Unlock()
}

func (p *Progress) add(manifests, blobs int) {
	p.mu.Lock()
	p.done.manifests += manifests
	p.done.blobs += blobs
	p.mu.Unlock()
}

// repoDone counts a finished repository; on a log it says so.
func (p *Progress) repoDone(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done.repos++
	if !p.terminal {
		fmt.Fprintf(p.out, "import: repository %s done\n", name)
		p.show(true)
	}
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
