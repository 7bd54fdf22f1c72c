package harness

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jwtExpiring is an unsigned JWT-shaped token whose exp is at.
func jwtExpiring(at time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"exp":%d}`, at.Unix()))) + ".sig"
}

// TestTrafficClassifies sends requests a registry client sends to a server
// answering with the status each case names, and checks which answers the
// record counts as the protocol's and which it lists, with the request id.
func TestTrafficClassifies(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(r.URL.Query().Get("status"))
		w.Header().Set("X-Request-Id", "id-"+r.URL.Query().Get("status"))
		w.WriteHeader(status)
		_, _ = w.Write([]byte("0123456789"))
	}))
	t.Cleanup(srv.Close)
	expired, valid := "Bearer "+jwtExpiring(time.Now().Add(-time.Second)), "Bearer "+jwtExpiring(time.Now().Add(time.Hour))
	for _, tc := range []struct {
		name, method, path, authz string
		status                    int
		pusher                    bool
		want                      string // ok, challenge, refresh, probe, unexpected
	}{
		{"success", "GET", "/v2/a/manifests/x", valid, 200, false, "ok"},
		{"upload accepted", "PATCH", "/v2/a/blobs/uploads/u", valid, 202, true, "ok"},
		{"ping without credentials", "GET", "/v2/", "", 401, false, "challenge"},
		{"expired token", "GET", "/v2/a/blobs/sha256:1", expired, 401, false, "refresh"},
		{"valid token refused", "GET", "/v2/a/blobs/sha256:1", valid, 401, false, "unexpected"},
		{"basic login refused", "GET", "/auth/token", "Basic eDp5", 401, false, "unexpected"},
		{"pusher's existence check", "HEAD", "/v2/a/blobs/sha256:1", valid, 404, true, "probe"},
		{"puller's HEAD 404", "HEAD", "/v2/a/manifests/x", valid, 404, false, "unexpected"},
		{"pusher's GET 404", "GET", "/v2/a/blobs/sha256:1", valid, 404, true, "unexpected"},
		{"server error", "GET", "/v2/a/manifests/x", valid, 500, false, "unexpected"},
		{"too many requests", "PATCH", "/v2/a/blobs/uploads/u", valid, 429, true, "unexpected"},
		{"redirect", "GET", "/v2/a/blobs/sha256:1", valid, 307, false, "unexpected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := NewTraffic()
			c := &http.Client{Transport: tr.Transport("c1", http.DefaultTransport, tc.pusher),
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, err := http.NewRequest(tc.method, srv.URL+tc.path+"?status="+strconv.Itoa(tc.status), strings.NewReader("abc"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.authz != "" {
				req.Header.Set("Authorization", tc.authz)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, res.Body); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			s := tr.Summary()
			got := map[bool]string{true: "ok"}[s.Challenges+s.Refreshes+s.Probes+len(s.Unexpected) == 0]
			switch {
			case s.Challenges == 1:
				got = "challenge"
			case s.Refreshes == 1:
				got = "refresh"
			case s.Probes == 1:
				got = "probe"
			case len(s.Unexpected) == 1:
				got = "unexpected"
				want := fmt.Sprintf("c1: %s %s: %d (request_id=id-%d)", tc.method, tc.path, tc.status, tc.status)
				if s.Unexpected[0].String() != want {
					t.Errorf("listed as %q, want %q", s.Unexpected[0], want)
				}
			}
			if got != tc.want || s.Requests != 1 {
				t.Errorf("%d %s %s: recorded as %q in %d requests, want %q in 1", tc.status, tc.method, tc.path, got, s.Requests, tc.want)
			}
			if q := s.Latency[RouteClass(tc.method, tc.path)]; q.N != 1 {
				t.Errorf("latency of %s: %+v, want one sample", RouteClass(tc.method, tc.path), q)
			}
			if s.BytesOut != 3 || (tc.method != "HEAD" && s.BytesIn != 10) {
				t.Errorf("bytes: %d out, %d in; want 3 out and the 10 of the body in", s.BytesOut, s.BytesIn)
			}
		})
	}
}

// TestTrafficRefusesNonLoopback: a client of a test never sends anywhere
// but loopback, nor over HTTPS to a plain-HTTP test server, and a request
// that got no answer is listed.
func TestTrafficRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	tr := NewTraffic()
	// The base transport never dials: if the refusal is missing, the
	// request stops here rather than leaving the machine.
	reached := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("base transport reached with %s", r.URL)
	})
	c := &http.Client{Transport: tr.Transport("c1", reached, false)}
	for _, u := range []string{"http://192.0.2.1/v2/", "http://example.com/v2/", "https://127.0.0.1:1/v2/"} {
		if _, err := c.Get(u); err == nil || !strings.Contains(err.Error(), "harness:") {
			t.Errorf("GET %s: %v, want the harness's refusal", u, err)
		}
	}
	if s := tr.Summary(); s.Requests != 0 {
		t.Errorf("refused requests were recorded: %+v", s)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	c = &http.Client{Transport: tr.Transport("c1", http.DefaultTransport, false)}
	if _, err := c.Get(addr + "/v2/"); err == nil {
		t.Fatalf("GET of a closed server succeeded")
	}
	if s := tr.Summary(); s.Requests != 1 || len(s.Unexpected) != 1 || s.Unexpected[0].Status != 0 {
		t.Errorf("a request without an answer: %+v, want it listed", s)
	}
}

func TestQuantiles(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	q := quantiles(ds)
	if q.N != 100 || q.P50 != 50*time.Millisecond || q.P90 != 90*time.Millisecond || q.P99 != 99*time.Millisecond || q.Max != 100*time.Millisecond {
		t.Errorf("quantiles of 1..100 ms: %+v", q)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("quantiles sorted its argument in place")
	}
	if (quantiles(nil) != Quantiles{}) {
		t.Error("quantiles of nothing are not zero")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestProcCPU: the CPU time of this process grows by what it burns.
func TestProcCPU(t *testing.T) {
	before, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Hashing 256 MiB costs a tenth of a second of CPU or more however
	// busy the machine is: ten ticks.
	buf := make([]byte, 1<<20)
	for range 256 {
		sum := sha256.Sum256(buf)
		buf[0] ^= sum[0]
	}
	after, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("CPU time %v, then %v after spinning", before, after)
	}
	if _, err := ProcCPU(-1); err == nil {
		t.Error("ProcCPU of no process: no error")
	}
}
