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

func TestServeStartsAndStops(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb testserver.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--auth", "none", "--tls", "off", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, &out, &errb)
	}()
	addrRE := regexp.MustCompile(`msg="wharf is serving" url=http://\S+ addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); {
		if m := addrRE.FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if addr == "" {
		t.Fatalf("no listening line in the log:\n%s", errb.String())
	}
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
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited with %d after shutdown: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := Run(t.Context(), []string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "wharf ") {
		t.Fatalf("version: %d %q %q", code, out.String(), errb.String())
	}
}
