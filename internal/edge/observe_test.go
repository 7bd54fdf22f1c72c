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
	}), log, true)
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
			edge.Observe(tc.handler, jsonLogger(&logs), true).ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v2/a/manifests/x", nil))
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
		edge.Observe(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }), jsonLogger(&logs), true).
			ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	})
}

// TestObserveAccessOff: with the access log off a request writes no line,
// keeps its id, and a panic is still logged at ERROR.
func TestObserveAccessOff(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := edge.Observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("bug")
		}
		w.WriteHeader(http.StatusNoContent)
	}), jsonLogger(&logs), false)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusNoContent || rec.Header().Get(edge.RequestIDHeader) == "" {
		t.Fatalf("answered %d, X-Request-Id %q", rec.Code, rec.Header().Get(edge.RequestIDHeader))
	}
	if logs.Len() != 0 {
		t.Fatalf("access log off, yet the log has %q", logs.String())
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/panic", nil))
	lines := logLines(t, &logs)
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["msg"] != "panic serving request" {
		t.Errorf("log %v; want the panic alone", lines)
	}
}

// TestUserAgent: the access log keeps the first 100 characters of the
// client's User-Agent, and no control character or invalid UTF-8 of it.
func TestUserAgent(t *testing.T) {
	t.Parallel()
	docker := "docker/27.5.1 go/go1.22.11 git-commit/4c9b3b0 kernel/6.1.0-31-amd64 os/linux arch/amd64 UpstreamClient(Docker-Client/27.5.1 \\(linux\\))"
	tests := []struct{ in, want string }{
		{"", ""},
		{"skopeo/1.13.3", "skopeo/1.13.3"},
		{strings.Repeat("a", 100), strings.Repeat("a", 100)},
		{strings.Repeat("a", 101), strings.Repeat("a", 100) + "…"},
		{docker, docker[:100] + "…"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100) + "…"},
		{"evil\n2025 level=ERROR msg=forged\x1b[31m", "evil\ufffd2025 level=ERROR msg=forged\ufffd[31m"},
		{"bad\xffutf8", "bad\ufffdutf8"},
	}
	for _, tc := range tests {
		if got := edge.UserAgent(tc.in); got != tc.want {
			t.Errorf("UserAgent(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var logs bytes.Buffer
	r := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	r.Header.Set("User-Agent", docker)
	edge.Observe(http.NotFoundHandler(), jsonLogger(&logs), true).ServeHTTP(httptest.NewRecorder(), r)
	if got := logLines(t, &logs)[0]["user_agent"]; got != docker[:100]+"…" {
		t.Errorf("access line user_agent %q", got)
	}
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
			h := edge.Observe(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }), slog.New(bc.h), true)
			r := httptest.NewRequest(http.MethodGet, "/v2/", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// BenchmarkUserAgent measures what the access log pays for a User-Agent:
// nothing to copy for a short, clean one; one copy of 100 characters for
// docker's (~300 characters).
func BenchmarkUserAgent(b *testing.B) {
	for _, bc := range []struct{ name, ua string }{
		{"skopeo", "skopeo/1.13.3"},
		{"docker", "docker/27.5.1 go/go1.22.11 git-commit/4c9b3b0 kernel/6.1.0-31-amd64 os/linux arch/amd64 UpstreamClient(Docker-Client/27.5.1 \\(linux\\)) " + strings.Repeat("x", 150)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = edge.UserAgent(bc.ua)
			}
		})
	}
}
