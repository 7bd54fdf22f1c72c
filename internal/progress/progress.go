package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Line shows a command's progress on out: on a terminal one line redrawn in
// place, otherwise a plain line every interval. Notes and problems go on
// lines of their own. The counters it draws belong to the caller, who
// changes them through Update so that they are never drawn half changed.
type Line struct {
	out       io.Writer
	terminal  bool
	interval  time.Duration
	name, ing string // "import: …" on a log, "importing: …" on a terminal

	mu       sync.Mutex
	draw     func() string
	lastLine time.Time
	drawn    bool
	stop     chan struct{}
	stopped  sync.WaitGroup
}

// New writes to out; terminal says whether someone watches it. interval
// spaces the plain lines (zero: every 10 seconds). name prefixes the plain
// lines ("import"), ing the terminal's ("importing").
func New(out io.Writer, terminal bool, interval time.Duration, name, ing string) *Line {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	return &Line{out: out, terminal: terminal, interval: interval, name: name, ing: ing}
}

// Terminal says whether the line is redrawn in place.
func (p *Line) Terminal() bool { return p.terminal }

// Start starts the display; draw returns the counter line and is called
// with the line's lock held (see Update).
func (p *Line) Start(draw func() string) {
	p.mu.Lock()
	p.draw = draw
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

// Finish stops the display and leaves the last line drawn.
func (p *Line) Finish() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	p.stopped.Wait()
	p.stop = nil
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

// Update runs fn, which changes the caller's counters, under the line's
// lock.
func (p *Line) Update(fn func()) {
	p.mu.Lock()
	fn()
	p.mu.Unlock()
}

// Milestone runs fn like Update; on a log it then writes msg and the
// counter line at once (a repository done), where a terminal only redraws.
func (p *Line) Milestone(fn func(), msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
	if !p.terminal {
		fmt.Fprintf(p.out, "%s: %s\n", p.name, msg)
		p.show(true)
	}
}

// show draws the counter line: in place on a terminal; on a log when the
// interval has passed, or always with force.
func (p *Line) show(force bool) {
	if p.draw == nil || (!p.terminal && !force && time.Since(p.lastLine) < p.interval) {
		return
	}
	line := p.draw()
	if p.terminal {
		fmt.Fprintf(p.out, "\r\x1b[K%s: %s", p.ing, line)
		p.drawn = true
		return
	}
	fmt.Fprintf(p.out, "%s: %s\n", p.name, line)
	p.lastLine = time.Now()
}

// Note writes a line of its own.
func (p *Line) Note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintln(p.out, msg)
}

// Bytes writes n in the largest binary unit under it.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
