package importer

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// pacer keeps the reading of the tree under a number of bytes per second,
// averaged since the import began, so that an import beside a registry
// that still serves pulls from the same disk leaves it bandwidth. A zero
// rate reads at full speed.
type pacer struct {
	rate  int64
	start time.Time
	read  int64
}

func newPacer(rate int64) *pacer { return &pacer{rate: rate, start: time.Now()} }

// wait sleeps until n more bytes are within the rate, or ctx ends.
func (p *pacer) wait(ctx context.Context, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.rate <= 0 {
		return nil
	}
	p.read += int64(n)
	due := p.start.Add(time.Duration(float64(p.read) / float64(p.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// reader paces r and stops it when ctx ends.
func (p *pacer) reader(ctx context.Context, r io.Reader) io.Reader {
	return &pacedReader{ctx: ctx, p: p, r: r}
}

type pacedReader struct {
	ctx context.Context
	p   *pacer
	r   io.Reader
}

func (r *pacedReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if werr := r.p.wait(r.ctx, n); werr != nil {
		return n, werr
	}
	return n, err
}

// ParseRate reads a rate in bytes per second: a number with an optional
// unit, B, kB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024),
// and an optional "/s". "" and "0" mean no limit.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	if t == "" {
		return 0, nil
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	units := map[string]float64{"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}
	mult, ok := units[strings.ToLower(unit)]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || v < 0 || v*mult > 1<<50 {
		return 0, fmt.Errorf("importer: rate %q: want bytes per second such as 50MB, 200MiB or 1GB", s)
	}
	return int64(v * mult), nil
}
