package metrics

import (
	"context"
	"net/http"
	"time"
)

// Begin implements edge.Recorder: the request is in flight. Its context
// is unchanged.
func (m *Metrics) Begin(r *http.Request) context.Context {
	if m != nil {
		m.inflight.WithLabelValues(Family(r.URL.Path)).Inc()
	}
	return r.Context()
}

// End implements edge.Recorder: the request was answered with status
// after reading in bytes of its body and writing out bytes, in d.
func (m *Metrics) End(r *http.Request, status int, in, out int64, d time.Duration) {
	if m == nil {
		return
	}
	fam, method := Family(r.URL.Path), Method(r.Method)
	m.inflight.WithLabelValues(fam).Dec()
	m.requests.WithLabelValues(fam, method, StatusClass(status)).Inc()
	m.duration.WithLabelValues(fam, method).Observe(d.Seconds())
	if in > 0 {
		m.bytesIn.WithLabelValues(fam).Add(float64(in))
	}
	if out > 0 {
		m.bytesOut.WithLabelValues(fam).Add(float64(out))
	}
	if status == http.StatusTooManyRequests {
		m.rateLimited.WithLabelValues(fam).Inc()
	}
}
