package edge_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wharf/internal/edge"
)

// fakeRecorder keeps what the edge tells it.
type fakeRecorder struct {
	begun, ended int
	status       int
	in, out      int64
}

func (f *fakeRecorder) Begin(r *http.Request) context.Context {
	f.begun++
	return r.Context()
}
func (f *fakeRecorder) End(_ *http.Request, status int, in, out int64, _ time.Duration) {
	f.ended++
	f.status, f.in, f.out = status, in, out
}

// TestRecorder: every request is begun and ended once, with its status and
// the bytes of its body read and of its answer written; also a panicking
// one (answered 500) and an aborted one (which panics on past the edge).
func TestRecorder(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	for _, tc := range []struct {
		name    string
		body    string
		handler http.HandlerFunc
		status  int
		in, out int64
	}{
		{"reads half the body, writes 5 bytes", "0123456789", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadFull(r.Body, make([]byte, 5))
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("hello"))
		}, http.StatusAccepted, 5, 5},
		{"no body, nothing written", "", func(http.ResponseWriter, *http.Request) {}, 0, 0, 0},
		{"panics", "", func(http.ResponseWriter, *http.Request) { panic("bug") }, http.StatusInternalServerError, 0, -1},
		{"aborted", "", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }, 0, 0, 0},
	} {
		rec := &fakeRecorder{}
		h := edge.ObserveRecorded(tc.handler, jsonLogger(&logs), false, rec)
		var body io.Reader = http.NoBody
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		func() {
			defer func() { _ = recover() }() // the aborted request's panic
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/v2/a/blobs/uploads/x", body))
		}()
		if rec.begun != 1 || rec.ended != 1 {
			t.Errorf("%s: begun %d, ended %d times; want once each", tc.name, rec.begun, rec.ended)
		}
		if rec.status != tc.status || rec.in != tc.in || (tc.out >= 0 && rec.out != tc.out) {
			t.Errorf("%s: status %d, in %d, out %d; want %d, %d, %d", tc.name, rec.status, rec.in, rec.out, tc.status, tc.in, tc.out)
		}
	}
}
