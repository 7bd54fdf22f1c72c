package upstream

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimit is what the upstream last said of its pull limit, from the
// ratelimit-limit and ratelimit-remaining headers Docker Hub sends
// ("100;w=21600": 100 pulls per 21600 s window).
type RateLimit struct {
	// Limit and Remaining are the headers' counts; -1 when never seen.
	Limit, Remaining int
	// Window is the limit's window, 0 when not given.
	Window time.Duration
	// At is when they were seen; zero when never.
	At time.Time
}

type rateLimits struct {
	mu   sync.Mutex
	last RateLimit
	seen bool
}

// RateLimit returns the last rate-limit headers the upstream sent.
func (c *Client) RateLimit() RateLimit {
	c.limits.mu.Lock()
	defer c.limits.mu.Unlock()
	if !c.limits.seen {
		return RateLimit{Limit: -1, Remaining: -1}
	}
	return c.limits.last
}

// recorder notes the rate-limit headers of the upstream's own answers
// (not its token service's).
type recorder struct {
	inner  http.RoundTripper
	host   string
	limits *rateLimits
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.inner.RoundTrip(req)
	if err != nil || req.URL.Host != r.host {
		return res, err
	}
	lim, rem := res.Header.Get("Ratelimit-Limit"), res.Header.Get("Ratelimit-Remaining")
	if lim == "" && rem == "" {
		return res, err
	}
	n, window := parseLimit(lim)
	m, _ := parseLimit(rem)
	r.limits.mu.Lock()
	r.limits.last = RateLimit{Limit: n, Remaining: m, Window: window, At: time.Now()}
	r.limits.seen = true
	r.limits.mu.Unlock()
	return res, err
}

// parseLimit reads "100;w=21600" (or "100"): the count, -1 if unreadable,
// and the window.
func parseLimit(v string) (int, time.Duration) {
	count, params, _ := strings.Cut(v, ";")
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil {
		n = -1
	}
	var window time.Duration
	for _, p := range strings.Split(params, ";") {
		if w, ok := strings.CutPrefix(strings.TrimSpace(p), "w="); ok {
			if s, err := strconv.Atoi(w); err == nil {
				window = time.Duration(s) * time.Second
			}
		}
	}
	return n, window
}
