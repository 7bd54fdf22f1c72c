package ociapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWriteJSONFailure checks that a response that cannot be encoded is
// answered in the OCI error format, logged, and loses its Link header.
func TestWriteJSONFailure(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := New(nil, slog.New(slog.NewTextHandler(&logs, nil)), nil, Options{})
	w := httptest.NewRecorder()
	w.Header().Set("Link", `</v2/x/tags/list?n=1&last=a>; rel="next"`)
	h.writeJSON(w, httptest.NewRequest(http.MethodGet, "/v2/x/tags/list", nil), "application/json", math.Inf(1))

	if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q, want 500 application/json", w.Code, w.Header().Get("Content-Type"))
	}
	var body struct {
		Errors []struct{ Code string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 || body.Errors[0].Code != "UNKNOWN" {
		t.Errorf("body %q (%v), want one UNKNOWN error", w.Body, err)
	}
	if link := w.Header().Get("Link"); link != "" {
		t.Errorf("Link %q kept on an error", link)
	}
	if !strings.Contains(logs.String(), "encoding the response") {
		t.Errorf("the failure is not logged: %q", logs.String())
	}
}
