package metrics

import "time"

// GCRun is what one garbage collection did, as the GC reports it.
type GCRun struct {
	// Err is why it failed; nil for a run that finished.
	Err error
	// Duration is how long it took.
	Duration time.Duration
	// Blobs and Bytes are the blobs deleted and their bytes; Uploads the
	// upload sessions removed. A dry run frees nothing: report zeros.
	Blobs, Bytes, Uploads int64
	// Ended is when it finished (default: now).
	Ended time.Time
	// UploadsOnly marks the frequent pass that removes idle upload
	// sessions alone: counted apart from collections, so that it moves
	// neither their duration nor their last success.
	UploadsOnly bool
}

// GC is the hook garbage collection reports its runs to; *Metrics is one.
// The GC's package takes a GC (nil: report nothing) so that it need not
// import this package.
type GC interface {
	GCDone(run GCRun)
}

// GCDone implements GC: wharf_gc_runs_total{result}, wharf_gc_freed_total,
// wharf_gc_duration_seconds and, for a run that finished,
// wharf_gc_last_success_timestamp_seconds; an uploads-only pass counts in
// wharf_gc_upload_passes_total{result} and the uploads it freed.
func (m *Metrics) GCDone(run GCRun) {
	if m == nil {
		return
	}
	if run.UploadsOnly {
		if run.Err != nil {
			m.gcUploadPasses.WithLabelValues("failed").Inc()
			return
		}
		m.gcUploadPasses.WithLabelValues("ok").Inc()
		m.gcFreed.WithLabelValues("uploads").Add(float64(max(run.Uploads, 0)))
		return
	}
	m.gcDuration.Observe(run.Duration.Seconds())
	if run.Err != nil {
		m.gcRuns.WithLabelValues("failed").Inc()
		return
	}
	m.gcRuns.WithLabelValues("ok").Inc()
	m.gcFreed.WithLabelValues("bytes").Add(float64(max(run.Bytes, 0)))
	m.gcFreed.WithLabelValues("blobs").Add(float64(max(run.Blobs, 0)))
	m.gcFreed.WithLabelValues("uploads").Add(float64(max(run.Uploads, 0)))
	ended := run.Ended
	if ended.IsZero() {
		ended = time.Now()
	}
	m.gcLastSuccess.Set(float64(ended.UnixNano()) / 1e9)
}
