package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"wharf/internal/edge"
)

// TestLogHandler: a line logged with a request's context carries its id,
// first among the line's own attributes and once only; a line without one
// is left alone; loggers derived with With keep the wrapper.
func TestLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(edge.NewLogHandler(slog.NewTextHandler(&buf, nil))).With("component", "test")
	ctx := edge.WithRequestID(context.Background(), "0123456789abcdef")

	log.ErrorContext(ctx, "request failed", "err", "boom")
	log.WarnContext(ctx, "explicit id", "request_id", "0123456789abcdef", "n", 1)
	log.Info("outside a request")
	log.InfoContext(context.Background(), "a context without an id")
	log.With("more", "x").WarnContext(ctx, "derived")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=ERROR msg="request failed" component=test request_id=0123456789abcdef err=boom`,
		`level=WARN msg="explicit id" component=test request_id=0123456789abcdef n=1`,
		`level=INFO msg="outside a request" component=test`,
		`level=INFO msg="a context without an id" component=test`,
		`level=WARN msg=derived component=test more=x request_id=0123456789abcdef`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, l := range lines {
		if _, rest, _ := strings.Cut(l, " "); rest != want[i] { // drop time=…
			t.Errorf("line %d:\n got %s\nwant %s", i, rest, want[i])
		}
	}
}

// TestLogHandlerJSON: the id is a top-level member of a JSON line, which
// log collectors index.
func TestLogHandlerJSON(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(edge.NewLogHandler(slog.NewJSONHandler(&buf, nil)))
	log.ErrorContext(edge.WithRequestID(context.Background(), "feedfacefeedface"), "x")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["request_id"] != "feedfacefeedface" {
		t.Errorf("line %s has no request_id", buf.String())
	}
	if edge.NewLogHandler(log.Handler()) != log.Handler() {
		t.Error("wrapping twice makes a second wrapper")
	}
}
