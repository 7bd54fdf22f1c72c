package cli

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"wharf/internal/testserver"
)

func TestServeRefusesBadSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown auth", []string{"serve", "--auth", "magic"}, []string{"auth:", "magic", "token, htpasswd, none"}},
		{"unknown tls", []string{"serve", "--tls", "on"}, []string{"tls:", "auto, files, acme, off"}},
		{"bad log level", []string{"serve", "--log-level", "loud"}, []string{"log.level"}},
		{"missing config", []string{"serve", "--config", "/nonexistent/wharf.yml"}, []string{"/nonexistent/wharf.yml"}},
		{"unknown flag", []string{"serve", "--adr", ":1"}, []string{"unknown flag: --adr"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Run(t.Context(), append(tc.args, "--data", t.TempDir()), &out, &errb)
			if code == 0 {
				t.Fatalf("exit code 0, want failure; stderr: %s", errb.String())
			}
			for _, s := range tc.want {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr does not mention %q:\n%s", s, errb.String())
				}
			}
		})
	}
}

// startServe runs wharf serve in-process with args until the test ends,
// and waits for its log to match started: it returns the log, the match,
// and stop, which ends serve and returns its exit status.
func startServe(t *testing.T, started *regexp.Regexp, args ...string) (*testserver.SyncBuffer, []string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	var out, errb testserver.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- Run(ctx, append([]string{"serve"}, args...), &out, &errb) }()
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; m = started.FindStringSubmatch(errb.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no start line in the log:\n%s", errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop after its context ended")
			return -1
		}
	}
	return &errb, m, stop
}

func TestServeStartsAndStops(t *testing.T) {
	t.Parallel()
	errb, m, stop := startServe(t, regexp.MustCompile(`msg="wharf is serving" url=http://\S+ addr=(\S+)`),
		"--auth", "none", "--tls", "off", "--addr", "127.0.0.1:0", "--data", t.TempDir())
	addr := m[1]
	if !strings.Contains(errb.String(), "AUTHENTICATION IS OFF") {
		t.Errorf("--auth none did not warn:\n%s", errb.String())
	}
	res, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Docker-Distribution-Api-Version") != "registry/2.0" {
		t.Fatalf("GET /v2/: %d %v", res.StatusCode, res.Header)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited with %d after shutdown: %s", code, errb.String())
	}
}
