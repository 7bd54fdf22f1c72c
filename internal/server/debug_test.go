package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"wharf/internal/config"
)

func TestDebugServerServesProfiles(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{cfg: config.Config{DebugAddr: "127.0.0.1:0"}, log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, stop, err := s.debugServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for path, want := range map[string]string{"/debug/pprof/": "goroutine", "/debug/pprof/cmdline": "server.test"} {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body without %q", path, res.StatusCode, want)
		}
	}
	res, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v2/ on the debug address: %d, want 404 (only profiles are served there)", res.StatusCode)
	}
	if !strings.Contains(logs.String(), "profiles are served") || strings.Contains(logs.String(), "not a loopback") {
		t.Errorf("log: %s", logs.String())
	}
}
