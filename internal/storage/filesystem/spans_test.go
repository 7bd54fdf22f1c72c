package filesystem_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"wharf/internal/storage"
	"wharf/internal/storage/filesystem"
)

// TestBlobSpans: in a traced request, each blob operation is a child span
// of the request's ("storage Upload", "storage Commit", …), an error span
// when it fails; untraced calls make none.
func TestBlobSpans(t *testing.T) {
	t.Parallel()
	d := newDriver(t, newRoot(t))
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	content := []byte("traced bytes")
	dgst := digest.FromBytes(content)
	push := func(ctx context.Context, id string) {
		w, err := d.Upload(ctx, id, -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(content); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, dgst); err != nil {
			t.Fatal(err)
		}
	}
	push(t.Context(), "untraced-upload-0123456789abcdef")
	ctx, req := tp.Tracer("test").Start(t.Context(), "PUT upload")
	push(ctx, "traced-upload-0123456789abcdefgh")
	if _, err := d.Stat(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	b, err := d.Open(ctx, dgst)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := d.Delete(ctx, dgst); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(ctx, dgst); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat after Delete: %v", err)
	}
	req.End()
	var names []string
	for _, sp := range exp.GetSpans() {
		if sp.Name == "PUT upload" {
			continue
		}
		names = append(names, sp.Name)
		if sp.Parent.SpanID() != req.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the request", sp.Name)
		}
	}
	want := []string{"storage Upload", "storage Commit", "storage Stat", "storage Open", "storage Delete", "storage Stat"}
	if len(names) != len(want) {
		t.Fatalf("spans %v; want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("spans %v; want %v", names, want)
		}
	}
	if last := exp.GetSpans()[len(want)-1]; last.Status.Code != codes.Error {
		t.Errorf("the Stat of a deleted blob has status %v; want an error", last.Status)
	}
}

// BenchmarkStatSpan: a blob Stat untraced (tracing off: the span costs a
// context lookup) and traced (a span made and exported to nothing).
func BenchmarkStatSpan(b *testing.B) {
	root := b.TempDir()
	d, err := filesystem.New(root)
	if err != nil {
		b.Fatal(err)
	}
	content := []byte("benchmarked bytes")
	dgst := digest.FromBytes(content)
	w, err := d.Upload(b.Context(), "bench-upload-0123456789abcdef", -1)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		b.Fatal(err)
	}
	if err := w.Commit(b.Context(), dgst); err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	traced, req := tp.Tracer("bench").Start(b.Context(), "HEAD blob")
	defer req.End()
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{{"untraced", b.Context()}, {"traced", traced}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Stat(bc.ctx, dgst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
