package spans

import (
	"context"
	"runtime"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// scope names the instrumentation that makes the child spans.
const scope = "wharf"

// Span is a child span, or nothing (the zero Span) when the request is
// not traced: its methods are then no-ops.
type Span struct{ s trace.Span }

// Start begins a child span named name (a bounded set: "db PutManifest",
// "storage Commit") of ctx's span, and returns the context to pass down.
// Without a recording span in ctx it returns ctx and the zero Span.
func Start(ctx context.Context, name string) (context.Context, Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, Span{}
	}
	ctx, s := parent.TracerProvider().Tracer(scope).Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
	return ctx, Span{s: s}
}

// Without returns ctx without its span: for work done on behalf of
// several requests (a group commit), which must not appear in the trace
// of the one whose context it happens to carry.
func Without(ctx context.Context) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	return trace.ContextWithSpan(ctx, trace.SpanFromContext(context.Background()))
}

// Name is "prefix method", or fallback when method is "".
func Name(prefix, method, fallback string) string {
	if method == "" {
		return fallback
	}
	return prefix + " " + method
}

// Recording reports whether s records: attributes that cost something to
// compute are worth computing.
func (s Span) Recording() bool { return s.s != nil }

// SetName renames s: a name known only once the span started.
func (s Span) SetName(name string) {
	if s.s != nil {
		s.s.SetName(name)
	}
}

// SetString sets an attribute.
func (s Span) SetString(key, value string) {
	if s.s != nil {
		s.s.SetAttributes(attribute.String(key, value))
	}
}

// SetInt sets an attribute.
func (s Span) SetInt(key string, value int64) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Int64(key, value))
	}
}

// End ends s, as an error span when err is not nil. The error's text is
// the status description: the callers' errors name digests, paths and
// tables, never a secret.
func (s Span) End(err error) {
	if s.s == nil {
		return
	}
	if err != nil {
		s.s.SetStatus(codes.Error, err.Error())
	}
	s.s.End()
}

// Exported is the name of the nearest exported function or method of
// the calling package up the stack from Exported's caller, without package
// path and receiver: "PutManifest" for a transaction helper that
// PutManifest called; "" when another package's frame or a goroutine's
// start comes first. It walks the stack, so call it only when Recording.
func Exported() string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	pkg := ""
	for {
		f, more := frames.Next()
		p, name := split(f.Function)
		if pkg == "" {
			pkg = p
		}
		if p == pkg && name != "" && name[0] >= 'A' && name[0] <= 'Z' {
			return name
		}
		if !more || p != pkg {
			return ""
		}
	}
}

// split cuts a runtime function name ("wharf/internal/metadata.(*Store).
// PutManifest.func1") into its package path and its function or method
// name, closures named after what encloses them.
func split(fn string) (pkg, name string) {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn, ""
	}
	pkg, rest := fn[:slash+1+dot], fn[slash+1+dot+1:]
	parts := strings.Split(rest, ".")
	for len(parts) > 1 {
		last := parts[len(parts)-1]
		if strings.HasPrefix(last, "func") || strings.Trim(last, "0123456789") == "" {
			parts = parts[:len(parts)-1]
			continue
		}
		break
	}
	return pkg, parts[len(parts)-1]
}
