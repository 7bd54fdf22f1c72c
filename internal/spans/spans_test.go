package spans

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func provider(t testing.TB, sampled bool) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	sampler := sdktrace.AlwaysSample()
	if !sampled {
		sampler = sdktrace.NeverSample()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sampler))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// storeOp stands for an exported method of a package that opens a child
// span in an unexported helper, as the metadata store's transactions do.
func StoreOp(ctx context.Context, fail bool) error { return helper(ctx, fail) }

func helper(ctx context.Context, fail bool) (err error) {
	_, span := Start(ctx, "db transaction")
	span.SetName("db " + Exported())
	span.SetString("db.system.name", "sqlite")
	span.SetInt("wharf.db.attempts", 1)
	if fail {
		err = errors.New("metadata: disk full")
	}
	span.End(err)
	return err
}

// TestChildOfTheRequestSpan: under a recording span, Start makes a child
// of it, named after the exported method the helper serves, with its
// attributes and an error status for an error; under no span or one not
// sampled it records nothing and leaves ctx as it was.
func TestChildOfTheRequestSpan(t *testing.T) {
	t.Parallel()
	tp, exp := provider(t, true)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "PUT manifest")
	if err := StoreOp(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := StoreOp(ctx, true); err == nil {
		t.Fatal("no error")
	}
	parent.End()
	got := exp.GetSpans()
	if len(got) != 3 {
		t.Fatalf("%d spans, want 2 children and the parent", len(got))
	}
	for i, s := range got[:2] {
		if s.Name != "db StoreOp" || s.Parent.SpanID() != parent.SpanContext().SpanID() || s.SpanKind != trace.SpanKindInternal {
			t.Errorf("child %d: %q, parent %s, kind %v; want db StoreOp under %s", i, s.Name, s.Parent.SpanID(), s.SpanKind, parent.SpanContext().SpanID())
		}
		attrs := attribute.NewSet(s.Attributes...)
		if v, _ := attrs.Value("db.system.name"); v.AsString() != "sqlite" {
			t.Errorf("child %d attributes %v", i, s.Attributes)
		}
	}
	if got[0].Status.Code != codes.Unset || got[1].Status.Code != codes.Error || got[1].Status.Description != "metadata: disk full" {
		t.Errorf("statuses %+v, %+v; want unset, then the error", got[0].Status, got[1].Status)
	}

	for name, ctx := range map[string]context.Context{
		"no span": context.Background(),
		"not sampled": func() context.Context {
			tp, _ := provider(t, false)
			ctx, _ := tp.Tracer("test").Start(context.Background(), "GET blob")
			return ctx
		}(),
	} {
		got, span := Start(ctx, "storage Open")
		if got != ctx || span.Recording() {
			t.Errorf("%s: Start changed the context or records", name)
		}
		span.SetString("k", "v") // no-ops, no panic
		span.End(errors.New("ignored"))
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	for fn, want := range map[string][2]string{
		"wharf/internal/metadata.(*Store).PutManifest":       {"wharf/internal/metadata", "PutManifest"},
		"wharf/internal/metadata.(*Store).PutManifest.func1": {"wharf/internal/metadata", "PutManifest"},
		"wharf/internal/metadata.(*Store).inTx.func2.1":      {"wharf/internal/metadata", "inTx"},
		"wharf/internal/storage/filesystem.(*writer).Commit": {"wharf/internal/storage/filesystem", "Commit"},
		"main.main": {"main", "main"},
	} {
		if p, n := split(fn); p != want[0] || n != want[1] {
			t.Errorf("split(%q) = %q, %q; want %q, %q", fn, p, n, want[0], want[1])
		}
	}
}

// benchKey gives the untraced context a value to look past, as a
// request's context has several.
type benchKey struct{}

// BenchmarkStart: what a transaction or a blob operation pays for its
// span. Untraced (tracing off) and not sampled must not allocate.
func BenchmarkStart(b *testing.B) {
	tp, _ := provider(b, true)
	traced, parent := tp.Tracer("bench").Start(context.Background(), "parent")
	defer parent.End()
	off, _ := provider(b, false)
	unsampled, _ := off.Tracer("bench").Start(context.Background(), "parent")
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"untraced", context.WithValue(context.Background(), benchKey{}, 1)}, {"not_sampled", unsampled}, {"traced", traced}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, span := Start(bc.ctx, "storage Stat")
				span.End(nil)
			}
		})
	}
}
