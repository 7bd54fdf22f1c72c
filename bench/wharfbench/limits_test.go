package wharfbench

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// readHashed reads every byte whatever the size against its 1 MiB chunks,
// and reports a read error instead of hanging on it.
func TestReadHashed(t *testing.T) {
	for _, size := range []int{0, 1, mib - 1, mib, 3*mib + 5, 7 * mib} {
		n, err := readHashed(iotest.HalfReader(bytes.NewReader(make([]byte, size))))
		if err != nil || n != int64(size) {
			t.Errorf("size %d: read %d, %v", size, n, err)
		}
	}
	broken := io.MultiReader(bytes.NewReader(make([]byte, 5*mib)), iotest.ErrReader(errors.New("connection reset")))
	if _, err := readHashed(broken); err == nil || err.Error() != "connection reset" {
		t.Errorf("a body that breaks after 5 MiB: error %v, want connection reset", err)
	}
}

// TestImportTakesNothingOver runs this test binary again as a receive probe
// would (receiveProbeEnv set, stdin closed): with no TestMain calling
// ServeReceiveProbe, the package must leave the process alone and the test
// runs. (An init that served the probe would print an address and exit
// before any test ran.)
func TestImportTakesNothingOver(t *testing.T) {
	if os.Getenv(receiveProbeEnv) != "" {
		return // the process started below: reaching this line is the point
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestImportTakesNothingOver$", "-test.v")
	cmd.Env = append(os.Environ(), receiveProbeEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestImportTakesNothingOver") {
		t.Errorf("test binary run with %s=1: %v\n%s", receiveProbeEnv, err, out)
	}
}

// TestServeReceiveProbe checks the answers that do not serve: not a probe,
// and a probe mode it does not know (an error, so the parent hears of it).
func TestServeReceiveProbe(t *testing.T) {
	t.Setenv(receiveProbeEnv, "")
	if probe, err := ServeReceiveProbe(); probe || err != nil {
		t.Errorf("without %s: %v, %v; want false, nil", receiveProbeEnv, probe, err)
	}
	t.Setenv(receiveProbeEnv, "md5")
	if probe, err := ServeReceiveProbe(); !probe || err == nil || !strings.Contains(err.Error(), "want 1, sha256 or memory") {
		t.Errorf("%s=md5: %v, %v; want true and an error naming the modes", receiveProbeEnv, probe, err)
	}
}

// TestRunRefusesInAProbe checks that a process started as a probe whose
// main did not call ServeReceiveProbe gets an error naming the fix instead
// of running the benchmarks, and their probes, once more.
func TestRunRefusesInAProbe(t *testing.T) {
	t.Setenv(receiveProbeEnv, "1")
	_, err := Run(t.Context(), Options{Smoke: true, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "did not call ServeReceiveProbe") {
		t.Errorf("Run in a probe process: %v; want an error naming ServeReceiveProbe", err)
	}
}

// TestSendfileReaders checks that the loopback probe serves one reader and
// sixteen at once (it fails unless every reader got the whole file: its
// figure is all their bytes over the time of the last), and fails on a
// file it cannot send. The figure itself is a speed and is not checked.
func TestSendfileReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(path, make([]byte, 3*mib+7), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, readers := range []int{1, 16} {
		v, err := sendfileThroughput(t.Context(), path, readers)
		if err != nil || v <= 0 {
			t.Errorf("%d readers: %v MiB/s, %v", readers, v, err)
		}
	}
	if _, err := sendfileThroughput(t.Context(), filepath.Join(t.TempDir(), "missing"), 4); err == nil {
		t.Error("a missing file: no error")
	}
}
