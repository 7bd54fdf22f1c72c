package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Line draws the text a function returns, until Finish.
type Line struct {
	out      io.Writer
	terminal bool
	prefix   string
	text     func() string

	mu    sync.Mutex
	drawn bool
	stop  chan struct{}
	wg    sync.WaitGroup
}

// Start draws text() on out every 200 ms in place when terminal is true,
// otherwise as "prefix: text" lines every interval (zero: every 10 s).
// text is called from another goroutine: it must be safe for that.
func Start(out io.Writer, terminal bool, interval time.Duration, prefix string, text func() string) *Line {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	if terminal {
		interval = 200 * time.Millisecond
	}
	l := &Line{out: out, terminal: terminal, prefix: prefix, text: text, stop: make(chan struct{})}
	l.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				l.draw()
			}
		}
	})
	return l
}

func (l *Line) draw() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.terminal {
		fmt.Fprintf(l.out, "\r\x1b[K%s: %s", l.prefix, l.text())
		l.drawn = true
		return
	}
	fmt.Fprintf(l.out, "%s: %s\n", l.prefix, l.text())
}

// Draw draws the line now, on a log as well (after a milestone).
func (l *Line) Draw() { l.draw() }

// Note writes msg on a line of its own; on a terminal the counter line is
// cleared first and drawn again on the next tick.
func (l *Line) Note(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		fmt.Fprint(l.out, "\r\x1b[K")
		l.drawn = false
	}
	fmt.Fprintln(l.out, msg)
}

// Finish stops the drawing; on a terminal the last line stays, complete.
func (l *Line) Finish() {
	close(l.stop)
	l.wg.Wait()
	if l.terminal {
		l.draw()
		fmt.Fprintln(l.out)
	}
}

// Bytes writes n in the largest binary unit under it: "512 B", "1.5 MiB".
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
