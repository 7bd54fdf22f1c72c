package harness

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Traffic records what a test's registry clients exchanged with the
// server: every response's route class, status and time to its headers,
// the bytes each way, and every answer outside 2xx that the token
// protocol does not call for, with the server's request id, so a failure
// names the log line to read.
type Traffic struct {
	bytesIn, bytesOut atomic.Int64

	mu         sync.Mutex
	latency    map[string][]time.Duration // by route class
	requests   int
	challenges int // 401 to a request without credentials
	refreshes  int // 401 to a token past its exp
	probes     int // 404 to a pusher's HEAD
	unexpected []Exchange
}

// Exchange is one request the server answered outside 2xx, or that got
// no answer, and which the protocol does not explain.
type Exchange struct {
	Client, Method, Path string
	Status               int    // 0: no response
	RequestID            string // the server's X-Request-Id
	Err                  string // the transport's error, without response
}

func (e Exchange) String() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: %s %s: %s", e.Client, e.Method, e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %s %s: %d (request_id=%s)", e.Client, e.Method, e.Path, e.Status, e.RequestID)
}

// NewTraffic returns an empty record.
func NewTraffic() *Traffic {
	return &Traffic{latency: map[string][]time.Duration{}}
}

// Transport returns a client's transport: base's requests, recorded under
// client. A pusher (probes true) checks whether blobs and manifests exist
// with HEAD before it uploads them, so its HEADs answered 404 are the
// expected answer; anyone else's are not. Requests to an address that is
// not a loopback IP, or over HTTPS, are refused before they are sent.
func (tr *Traffic) Transport(client string, base http.RoundTripper, probes bool) http.RoundTripper {
	return &recording{tr: tr, client: client, base: base, probes: probes}
}

type recording struct {
	tr     *Traffic
	client string
	base   http.RoundTripper
	probes bool
}

func (r *recording) RoundTrip(req *http.Request) (*http.Response, error) {
	if ip := net.ParseIP(req.URL.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("harness: %s %s: test clients send only to loopback addresses", req.Method, req.URL.Redacted())
	}
	if req.URL.Scheme == "https" {
		// The test servers speak plain HTTP. A client told a registry is
		// insecure tries HTTPS first and falls back: that try is the
		// client's, not an exchange with the server.
		return nil, fmt.Errorf("harness: %s %s: the server under test serves plain HTTP", req.Method, req.URL.Redacted())
	}
	if req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = &counted{ReadCloser: req.Body, n: &r.tr.bytesOut}
	}
	start := time.Now()
	res, err := r.base.RoundTrip(req)
	took := time.Since(start)
	if err != nil {
		r.tr.record(Exchange{Client: r.client, Method: req.Method, Path: req.URL.Path, Err: err.Error()}, "", took, false)
		return nil, err
	}
	res.Body = &counted{ReadCloser: res.Body, n: &r.tr.bytesIn}
	ex := Exchange{Client: r.client, Method: req.Method, Path: req.URL.Path, Status: res.StatusCode, RequestID: res.Header.Get("X-Request-Id")}
	r.tr.record(ex, req.Header.Get("Authorization"), took, r.probes)
	return res, nil
}

// record files one exchange: its time under its route class, and its
// status as success, as one of the answers the protocol calls for, or
// as unexpected.
func (tr *Traffic) record(ex Exchange, authz string, took time.Duration, probes bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.requests++
	if ex.Status == 0 {
		tr.unexpected = append(tr.unexpected, ex)
		return
	}
	class := RouteClass(ex.Method, ex.Path)
	tr.latency[class] = append(tr.latency[class], took)
	switch {
	case ex.Status >= 200 && ex.Status < 300:
	case ex.Status == http.StatusUnauthorized && authz == "":
		tr.challenges++ // how every client learns the realm and scope
	case ex.Status == http.StatusUnauthorized && tokenExpired(authz, time.Now()):
		tr.refreshes++ // the client fetches a new token and sends again
	case ex.Status == http.StatusNotFound && ex.Method == http.MethodHead && probes:
		tr.probes++ // not there yet: the pusher uploads it
	default:
		tr.unexpected = append(tr.unexpected, ex)
	}
}

// RouteClass names a request's kind for the latency figures: "token",
// "ping" (GET /v2/), "manifest GET", "blob HEAD", "upload PATCH", …
func RouteClass(method, path string) string {
	switch {
	case strings.HasPrefix(path, "/auth"):
		return "token"
	case path == "/v2/" || path == "/v2":
		return "ping"
	case strings.Contains(path, "/manifests/"):
		return "manifest " + method
	case strings.Contains(path, "/blobs/uploads/"):
		return "upload " + method
	case strings.Contains(path, "/blobs/"):
		return "blob " + method
	}
	return "other " + method
}

// tokenExpired reports whether authz is "Bearer JWT" whose exp claim is
// not after now. The signature is not checked: the server did that, and
// this only tells an expired token's 401 from any other.
func tokenExpired(authz string, now time.Time) bool {
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Exp *int64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == nil {
		return false
	}
	return !now.Before(time.Unix(*claims.Exp, 0))
}

// TrafficSummary is what a Traffic recorded.
type TrafficSummary struct {
	Requests                      int
	BytesIn, BytesOut             int64
	Challenges, Refreshes, Probes int
	Unexpected                    []Exchange
	Latency                       map[string]Quantiles
}

// Quantiles are the times to response headers of one route class.
type Quantiles struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func (q Quantiles) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s ms", q.N, ms(q.P50), ms(q.P90), ms(q.P99), ms(q.Max))
}

// Summary returns the figures so far.
func (tr *Traffic) Summary() TrafficSummary {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := TrafficSummary{
		Requests: tr.requests, BytesIn: tr.bytesIn.Load(), BytesOut: tr.bytesOut.Load(),
		Challenges: tr.challenges, Refreshes: tr.refreshes, Probes: tr.probes,
		Unexpected: slices.Clone(tr.unexpected), Latency: map[string]Quantiles{},
	}
	for class, ds := range tr.latency {
		s.Latency[class] = quantiles(ds)
	}
	return s
}

func quantiles(ds []time.Duration) Quantiles {
	if len(ds) == 0 {
		return Quantiles{}
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[int(q*float64(len(ds)-1))] }
	return Quantiles{N: len(ds), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ds[len(ds)-1]}
}

type counted struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *counted) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// LoadAverage is the machine's 1-minute load average (/proc/loadavg),
// printed beside timed figures: on a shared machine they mean little
// without it.
func LoadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, fmt.Errorf("harness: %w", err)
	}
	var one float64
	if _, err := fmt.Sscan(string(b), &one); err != nil {
		return 0, fmt.Errorf("harness: /proc/loadavg: %w", err)
	}
	return one, nil
}

// ProcCPU is the CPU time a process has used so far, user and system
// (/proc/PID/stat, in the kernel's USER_HZ ticks of 10 ms).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("harness: %w", err)
	}
	// The command name, in parentheses, may hold spaces: count from after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("harness: /proc/%d/stat: unexpected %q", pid, b)
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime: fields 14 and 15
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("harness: /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}
