package metadata_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"wharf/internal/metadata"
)

// TestTransactionSpans: in a traced request, each transaction is a child
// span of the request's, named after the store method it serves, with the
// database and its attempts, an error span when it fails; reads outside a
// transaction and untraced calls make none.
func TestTransactionSpans(t *testing.T) {
	t.Parallel()
	s, err := metadata.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "wharf.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	if err := s.CreateUser(t.Context(), metadata.User{Name: "untraced", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	ctx, req := tp.Tracer("test").Start(t.Context(), "POST users")
	if err := s.CreateUser(ctx, metadata.User{Name: "alice", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, metadata.User{Name: "alice", PasswordHash: "h"}); !errors.Is(err, metadata.ErrExists) {
		t.Fatalf("second CreateUser: %v", err)
	}
	if _, err := s.GetUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	req.End()
	got := exp.GetSpans()
	if len(got) != 3 {
		t.Fatalf("%d spans (%v); want the two transactions and the request", len(got), got)
	}
	for i, sp := range got[:2] {
		attrs := attribute.NewSet(sp.Attributes...)
		system, _ := attrs.Value("db.system.name")
		attempts, _ := attrs.Value("wharf.db.attempts")
		if sp.Name != "db CreateUser" || sp.Parent.SpanID() != req.SpanContext().SpanID() || system.AsString() != "sqlite" || attempts.AsInt64() != 1 {
			t.Errorf("span %d: %q under %s, attributes %v; want db CreateUser under the request", i, sp.Name, sp.Parent.SpanID(), sp.Attributes)
		}
	}
	if got[0].Status.Code == codes.Error || got[1].Status.Code != codes.Error {
		t.Errorf("statuses %v, %v; want the second an error", got[0].Status, got[1].Status)
	}
}
