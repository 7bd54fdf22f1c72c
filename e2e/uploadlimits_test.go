package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"wharf/e2e/harness"
)

// TestStalledUploadsMemory opens more stalled uploads than the server
// takes at once — each announces 100 MiB, sends 3.5 MiB (enough to fill
// every copy buffer an upload may hold) and stops — and checks that the
// server's memory grows by what the upload cap allows, not by the number
// of connections; that the uploads past the cap are refused with 429
// TOOMANYREQUESTS; and that the idle timeout ends the stalled ones with
// their bytes kept. Without the cap every stalled upload held 3 MiB.
func TestStalledUploadsMemory(t *testing.T) {
	harness.SkipIfShort(t)
	const (
		slots     = 4
		clients   = 24
		announced = 100 << 20
		sent      = 7 << 19
		// perUpload is the most copy buffers one upload holds;
		// slackKiB covers what the connections, goroutines and database
		// of the test's requests cost besides.
		perUploadKiB = 3 << 10
		slackKiB     = 16 << 10
	)
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf("limits:\n  uploads: %d\n  uploads_per_client: %d\n  upload_idle_timeout: 3s\n", slots, slots))
	w := harness.StartWharf(t, "--config", cfg)
	pid := w.PID()

	locs := make([]string, clients)
	for i := range locs {
		res, err := http.Post(w.URL()+"/v2/e2e/stalled/blobs/uploads/", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("POST upload: %d", res.StatusCode)
		}
		locs[i] = res.Header.Get("Location")
	}
	before, err := harness.ProcStatusKiB(pid, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	// VmHWM, reset here, is the peak from now on, however short.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Fatalf("resetting the server's peak RSS: %v", err)
	}

	rss := sampleRSS(pid)
	results := make(chan stalledResult, clients)
	body := bytes.Repeat([]byte("wharf"), sent/5+1)[:sent]
	for _, loc := range locs {
		go func() { results <- stalledPatch(w.Addr(), loc, announced, body) }()
	}
	var kept, refused int
	for range clients {
		r := <-results
		switch {
		case r.err != nil:
			t.Errorf("stalled upload: %v", r.err)
		case r.status == http.StatusTooManyRequests && r.retryAfter != "":
			refused++
		case r.status == http.StatusRequestTimeout && r.rng == "0-"+strconv.Itoa(sent-1):
			kept++
		default:
			t.Errorf("stalled upload answered %d (Range %q, Retry-After %q); want 408 keeping %d bytes, or 429 with Retry-After",
				r.status, r.rng, r.retryAfter, sent)
		}
	}
	maxSampled := rss.Stop()
	peak, err := harness.ProcStatusKiB(pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	after, _ := harness.ProcStatusKiB(pid, "VmRSS")
	bound := slots*perUploadKiB + slackKiB
	t.Logf("server RSS: %d KiB before %d stalled uploads of %d MiB (cap %d), peak %d KiB (+%d KiB, bound +%d KiB), max sampled %d KiB, %d KiB after they ended; %d ended by the idle timeout keeping their bytes, %d refused",
		before, clients, announced>>20, slots, peak, peak-before, bound, maxSampled, after, kept, refused)
	if kept == 0 || refused == 0 {
		t.Errorf("%d uploads kept, %d refused; want both with %d clients over a cap of %d", kept, refused, clients, slots)
	}
	if peak-before > int64(bound) {
		t.Errorf("the server's RSS grew by %d KiB with %d stalled uploads; the cap of %d allows %d KiB", peak-before, clients, slots, bound)
	}
	// A flood of refusals is one log line a minute, with the count.
	if n := strings.Count(w.Log(), "uploads refused with 429"); n != 1 {
		t.Errorf("%d log lines about refused uploads; want 1 (at most one a minute)", n)
	}
	res, err := http.Get(w.URL() + "/v2/")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("the server does not serve after the stalled uploads: %v %v", res, err)
	}
	if res != nil {
		res.Body.Close()
	}
}

type stalledResult struct {
	status          int
	rng, retryAfter string
	err             error
}

// stalledPatch starts a PATCH of announced bytes on its own connection,
// asking to be told to go on (Expect: 100-continue) so that a refused
// upload is answered before it sends anything; an accepted one sends body
// and then nothing, until the server answers.
func stalledPatch(addr, loc string, announced int, body []byte) stalledResult {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return stalledResult{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(25 * time.Second))
	_, err = fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", loc, addr, announced)
	if err != nil {
		return stalledResult{err: err}
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return stalledResult{err: fmt.Errorf("no answer to the headers: %w", err)}
	}
	if res.StatusCode == http.StatusContinue {
		if _, err := conn.Write(body); err != nil {
			return stalledResult{err: err}
		}
		if res, err = http.ReadResponse(br, nil); err != nil {
			return stalledResult{err: fmt.Errorf("no answer after the body stalled: %w", err)}
		}
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return stalledResult{status: res.StatusCode, rng: res.Header.Get("Range"), retryAfter: res.Header.Get("Retry-After")}
}
