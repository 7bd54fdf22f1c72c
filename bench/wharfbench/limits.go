package wharfbench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// sha256Throughput hashes n bytes on one goroutine (one core): the ceiling
// of any push, since both servers verify the digest of what they store.
func sha256Throughput(n int64) float64 {
	buf := randomBytes(min(n, 16*mib), 3)
	h := sha256.New()
	start := time.Now()
	for done := int64(0); done < n; done += int64(len(buf)) {
		h.Write(buf)
	}
	h.Sum(nil)
	return float64(n) / mib / time.Since(start).Seconds()
}

// diskWriteThroughput writes n bytes sequentially in 1 MiB writes to a new
// file in dir and fsyncs it, timing both: the ceiling of a durable push.
// The file stays, for sendfileThroughput; the caller removes it.
func diskWriteThroughput(dir string, n int64) (path string, mibs float64, err error) {
	buf := randomBytes(mib, 4)
	path = filepath.Join(dir, "disk-probe")
	f, err := os.Create(path)
	if err != nil {
		return "", 0, fmt.Errorf("wharfbench: %w", err)
	}
	defer f.Close()
	settleDisk()
	start := time.Now()
	for done := int64(0); done < n; done += mib {
		if _, err := f.Write(buf); err != nil {
			return path, 0, fmt.Errorf("wharfbench: disk probe: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return path, 0, fmt.Errorf("wharfbench: disk probe: %w", err)
	}
	return path, float64(n) / mib / time.Since(start).Seconds(), nil
}

// sendfileThroughput serves the file at path over readers loopback TCP
// connections at once, the plainest way Go can (io.Copy from the *os.File
// to the connection, which is sendfile), and reads each with drain, as the
// pull client reads a body: with one reader, the ceiling of any
// single-client pull; with 16, of the 16-client pulls. It returns the
// bytes of all readers over the time until the last one finished.
func sendfileThroughput(ctx context.Context, path string, readers int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("wharfbench: %w", err)
	}
	defer ln.Close()
	served := make(chan error, readers)
	go func() {
		for range readers {
			conn, err := ln.Accept()
			if err != nil {
				served <- err
				continue
			}
			go func() {
				defer conn.Close()
				f, err := os.Open(path)
				if err != nil {
					served <- err
					return
				}
				defer f.Close()
				_, err = io.Copy(conn, f)
				served <- err
			}()
		}
	}()
	start := time.Now()
	var total atomic.Int64
	err = parallel(ctx, readers, readers, func(ctx context.Context, _ int) error {
		conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Minute))
		n, err := drain(conn)
		total.Add(n)
		return err
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("wharfbench: loopback probe: %w", err)
	}
	for range readers {
		if err := <-served; err != nil {
			return 0, fmt.Errorf("wharfbench: loopback probe: %w", err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("wharfbench: loopback probe: %w", err)
	}
	if want := int64(readers) * fi.Size(); total.Load() != want {
		return 0, fmt.Errorf("wharfbench: loopback probe: %d readers got %d bytes, want %d", readers, total.Load(), want)
	}
	return float64(total.Load()) / mib / elapsed.Seconds(), nil
}

// receiveProbeEnv marks a process that receiveThroughput started from the
// benchmarks' own executable (the wharfbench command or a test binary) to
// serve as a receive probe's server; see ServeReceiveProbe. Its value is
// "1" for the plain probe, which only reads, "sha256" for the one that
// also hashes, and "memory" for the in-memory server (memory.go).
const receiveProbeEnv = "WHARFBENCH_RECEIVE_PROBE"

// ServeReceiveProbe turns this process into a receive probe's server when
// receiveThroughput started it as one: it serves until its stdin closes
// and reports true, and the caller then ends the process (with a failure
// status if err is not nil). Otherwise it reports false at once.
//
// The probe runs the current executable again, so every program that
// calls Run calls this first, in its main or its TestMain; the package
// itself never takes a process over (an init would do it in every binary
// that imports the package).
func ServeReceiveProbe() (probe bool, err error) {
	var read func(io.Reader) (int64, error)
	switch mode := os.Getenv(receiveProbeEnv); mode {
	case "":
		return false, nil
	case "1":
		read = drain
	case "sha256":
		read = readHashed
	case memoryProbe:
		return true, serveMemory()
	default:
		return true, fmt.Errorf("wharfbench: %s=%q: want 1, sha256 or %s", receiveProbeEnv, mode, memoryProbe)
	}
	return true, serveReceiveProbe(read)
}

// serveReceiveProbe is a receive probe's server: a plain net/http server
// on a loopback port (printed on stdout) that reads each request body with
// read, throws it away and answers 201. It ends when stdin closes.
func serveReceiveProbe(read func(io.Reader) (int64, error)) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := read(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusCreated)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	return nil
}

// readHashed reads r to its end in 1 MiB chunks and hashes them with
// SHA-256 on a second goroutine while the next chunk is read (three
// chunks in flight), as a registry verifies a push; it stores nothing.
func readHashed(r io.Reader) (int64, error) {
	const depth = 3
	type chunk struct {
		buf []byte
		n   int
	}
	free := make(chan *chunk, depth)
	for range depth {
		free <- &chunk{buf: make([]byte, mib)}
	}
	toHash := make(chan *chunk, depth)
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		h := sha256.New()
		for c := range toHash {
			h.Write(c.buf[:c.n])
			free <- c
		}
		h.Sum(nil)
	}()
	var total int64
	var err error
	for {
		c := <-free
		c.n, err = io.ReadFull(r, c.buf)
		total += int64(c.n)
		toHash <- c
		if err != nil {
			break
		}
	}
	close(toHash)
	<-hashed
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return total, err
}

// receiveThroughput PUTs the file at path, with the benchmarks' own
// client, to a plain net/http server in a process of its own (as wharf and
// distribution are) that reads the body and throws it away: what any
// server can take in over loopback from this client before it stores a
// byte. With hash, the server also hashes the body with SHA-256 as it
// arrives, as a registry must: the ceiling of any push that verifies its
// digest on this machine, with client and server sharing its cores: the
// ceiling the push rows are compared with (CeilingPush).
func receiveThroughput(ctx context.Context, path string, hash bool) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe)
	mode := "1"
	if hash {
		mode = "sha256"
	}
	cmd.Env = append(os.Environ(), receiveProbeEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("wharfbench: receive probe: no address from its server: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	c := newClient()
	defer c.CloseIdleConnections()
	start := time.Now()
	if _, _, err := do(ctx, c, http.MethodPut, "http://"+strings.TrimSpace(addr)+"/", f, nil, http.StatusCreated); err != nil {
		return 0, fmt.Errorf("wharfbench: receive probe: %w", err)
	}
	return float64(fi.Size()) / mib / time.Since(start).Seconds(), nil
}

// resetPeakRSS resets the peak resident set size (VmHWM) of process pid.
func resetPeakRSS(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("wharfbench: reset peak RSS: %w", err)
	}
	return nil
}

// peakRSS is VmHWM of process pid, in MiB.
func peakRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("wharfbench: peak RSS: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("wharfbench: peak RSS: %q: %w", line, err)
			}
			return kib / 1024, nil
		}
	}
	return 0, fmt.Errorf("wharfbench: no VmHWM in /proc/%d/status", pid)
}

// TokenIssuance is what `make bench-token` measures (BenchmarkTokenIssuance
// in wharf/bench): tokens per second for one user, credential cache off
// and on. NotMeasured says why when it was not run.
type TokenIssuance struct {
	CacheOff, CacheOn float64
	NotMeasured       string
}

// tokenIssuance runs BenchmarkTokenIssuance in a `go test` of its own.
func tokenIssuance(ctx context.Context, root string) (TokenIssuance, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "BenchmarkTokenIssuance", "-benchtime", "2s", "-count", "1", "./bench/")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return TokenIssuance{}, fmt.Errorf("wharfbench: BenchmarkTokenIssuance: %w\n%s", err, out)
	}
	var ti TokenIssuance
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i := 1; i < len(f); i++ {
			if f[i] != "tokens/s" {
				continue
			}
			v, err := strconv.ParseFloat(f[i-1], 64)
			if err != nil {
				continue
			}
			switch {
			case strings.Contains(f[0], "cache=off"):
				ti.CacheOff = v
			case strings.Contains(f[0], "cache=on"):
				ti.CacheOn = v
			}
		}
	}
	if ti.CacheOff == 0 || ti.CacheOn == 0 {
		return TokenIssuance{}, fmt.Errorf("wharfbench: BenchmarkTokenIssuance: no tokens/s in its output:\n%s", out)
	}
	return ti, nil
}
