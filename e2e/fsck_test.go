package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wharf/e2e/harness"
)

// fsckReport is what the tests read of wharf fsck --json.
type fsckReport struct {
	Blobs     int64 `json:"blobs"`
	Bytes     int64 `json:"bytes"`
	Manifests int64 `json:"manifests"`
	Tags      int64 `json:"tags"`
	Problems  []struct {
		Kind   string   `json:"kind"`
		Digest string   `json:"digest"`
		Tags   []string `json:"tags"`
		Repair string   `json:"repair"`
	} `json:"problems"`
	Orphans     []struct{ Digest string } `json:"orphans"`
	OrphanBytes int64                     `json:"orphan_bytes"`
	Untagged    []string                  `json:"untagged"`
	Seconds     float64                   `json:"seconds"`
}

// runFsck runs the built wharf fsck --json on data (and args) and returns
// its exit status, its report and what it wrote on stderr.
func runFsck(t *testing.T, data string, args ...string) (int, fsckReport, string) {
	t.Helper()
	cmd := exec.Command(harness.WharfBinary(t), append([]string{"fsck", "--json", "--data", data}, args...)...)
	cmd.Env = withoutPrefix(os.Environ(), "WHARF_")
	var stdout, stderrBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderrBuf
	status := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("wharf fsck: %v", err)
		}
		status = ee.ExitCode()
	}
	out, stderr := stdout.Bytes(), stderrBuf.String()
	var rep fsckReport
	if len(out) > 0 {
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("wharf fsck --json wrote no JSON report: %v\n%s\n%s", err, out, stderr)
		}
	}
	return status, rep, stderr
}

// fsckClean runs wharf fsck on data (beside a running server: it only
// reads) and fails the test unless it exits 0 with no problem.
func fsckClean(t *testing.T, data string) fsckReport {
	t.Helper()
	status, rep, stderr := runFsck(t, data)
	if status != 0 || len(rep.Problems) > 0 {
		t.Errorf("wharf fsck: exit %d, %d problems: %+v\n%s", status, len(rep.Problems), rep.Problems, stderr)
	}
	t.Logf("wharf fsck: %d blobs (%d bytes, every byte hashed), %d manifests, %d tags in %.2fs; %d orphan blobs (%d bytes) for GC",
		rep.Blobs, rep.Bytes, rep.Manifests, rep.Tags, rep.Seconds, len(rep.Orphans), rep.OrphanBytes)
	if rep.Blobs == 0 {
		t.Error("wharf fsck checked no blob: it proved nothing")
	}
	return rep
}

// blobFile finds the file holding a blob under a data directory.
func blobFile(t *testing.T, data, dgst string) string {
	t.Helper()
	hex := strings.TrimPrefix(dgst, "sha256:")
	var found string
	filepath.WalkDir(filepath.Join(data, "blobs"), func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Name() == hex {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no file for blob %s under %s", dgst, data)
	}
	return found
}
