package edge_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wharf/internal/edge"
)

// logLines parses the JSON log lines in b. (Observe and the handlers
// below run in the test's goroutine: a plain buffer will do.)
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func jsonLogger(b *bytes.Buffer) *slog.Logger {
	return slog.New(edge.NewLogHandler(slog.NewJSONHandler(b, nil)))
}

// TestObserve: the request id is in the response header, in the handler's
// context and on the handler's error line and the access line.
func TestObserve(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := jsonLogger(&logs)
	var seen string
	h := edge.Observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = edge.RequestID(r.Context())
		log.ErrorContext(r.Context(), "something failed", "err", "disk full")
		w.WriteHeader(http.StatusTeapot)
	}), log)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))

	id := rec.Header().Get(edge.RequestIDHeader)
	if len(id) != 16 || id != seen {
		t.Fatalf("X-Request-Id %q, the handler saw %q; want the same 16 hex digits", id, seen)
	}
	lines := logLines(t, &logs)
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want the error and the access line: %v", len(lines), lines)
	}
	for _, l := range lines {
		if l["request_id"] != id {
			t.Errorf("line %v: request_id %v, want %s", l["msg"], l["request_id"], id)
		}
	}
	if access := lines[1]; access["msg"] != "request" || access["status"] != float64(http.StatusTeapot) {
		t.Errorf("access line %v", access)
	}
	rec2 := httptest.NewRecorder()
	h.ServeHTTP(rec2, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec2.Header().Get(edge.RequestIDHeader) == id {
		t.Error("two requests got the same id")
	}
}

// TestObservePanic: a panicking handler is answered 500 UNKNOWN (unless it
// had answered already), logged at ERROR with the request's id, and the
// server goes on; http.ErrAbortHandler keeps its meaning.
func TestObservePanic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantBody   string
	}{
		{"before answering", func(http.ResponseWriter, *http.Request) { panic("bug") },
			http.StatusInternalServerError, `{"errors":[{"code":"UNKNOWN","message":"internal error; the server log has the details"}]}` + "\n"},
		{"after answering", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			panic(errors.New("bug"))
		}, http.StatusAccepted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			edge.Observe(tc.handler, jsonLogger(&logs)).ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v2/a/manifests/x", nil))
			if rec.Code != tc.wantStatus || rec.Body.String() != tc.wantBody {
				t.Errorf("answered %d %q; want %d %q", rec.Code, rec.Body, tc.wantStatus, tc.wantBody)
			}
			lines := logLines(t, &logs)
			if len(lines) != 2 || lines[0]["level"] != "ERROR" || lines[0]["msg"] != "panic serving request" {
				t.Fatalf("log %v; want the panic at ERROR, then the access line", lines)
			}
			if id := rec.Header().Get(edge.RequestIDHeader); lines[0]["request_id"] != id || lines[1]["status"] != float64(tc.wantStatus) {
				t.Errorf("log %v; want request_id %s and status %d", lines, id, tc.wantStatus)
			}
		})
	}
	t.Run("ErrAbortHandler", func(t *testing.T) {
		t.Parallel()
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v; want http.ErrAbortHandler passed on", p)
			}
		}()
		var logs bytes.Buffer
		edge.Observe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }), jsonLogger(&logs)).
			ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	})
}

// BenchmarkObserve measures what the edge adds to a request: the id, the
// access line (JSON, to io.Discard) and, with NewLogHandler, the copy of
// the record that puts request_id first.
//
//	go test -run '^$' -bench Observe -benchmem ./internal/edge/
func BenchmarkObserve(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    slog.Handler
	}{
		{"plain handler", slog.NewJSONHandler(io.Discard, nil)},
		{"request_id handler", edge.NewLogHandler(slog.NewJSONHandler(io.Discard, nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := edge.Observe(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }), slog.New(bc.h))
			r := httptest.NewRequest(http.MethodGet, "/v2/", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
