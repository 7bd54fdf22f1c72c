package edge

import (
	"context"
	"log/slog"
)

// RequestIDKey is the log attribute that holds the request id.
const RequestIDKey = "request_id"

// NewLogHandler wraps h so that every record logged with a request's
// context (log.InfoContext(r.Context(), …), ErrorContext, …) carries
// request_id, first among the record's own attributes. Lines logged
// without a context, or outside a request, are passed on unchanged. The
// composition root wraps the process's handler once; every logger derived
// from it (With, WithGroup) keeps the wrapper. Under WithGroup the id goes
// into the group, as every attribute of the record does (Wharf's loggers
// open none).
func NewLogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*logHandler); ok {
		return h
	}
	return &logHandler{inner: h}
}

type logHandler struct {
	inner slog.Handler
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	id := RequestID(ctx)
	if id == "" {
		return h.inner.Handle(ctx, r)
	}
	// A fresh record, so that the id leads the line and r (which the
	// caller may reuse) is not changed.
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	attrs := make([]slog.Attr, 0, r.NumAttrs()+1)
	attrs = append(attrs, slog.String(RequestIDKey, id))
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != RequestIDKey { // already added: once is enough
			attrs = append(attrs, a)
		}
		return true
	})
	nr.AddAttrs(attrs...)
	return h.inner.Handle(ctx, nr)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{inner: h.inner.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{inner: h.inner.WithGroup(name)}
}
