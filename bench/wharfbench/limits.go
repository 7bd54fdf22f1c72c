package wharfbench

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
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
func diskWriteThroughput(dir string, n int64) (float64, error) {
	buf := randomBytes(mib, 4)
	path := filepath.Join(dir, "disk-probe")
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("wharfbench: %w", err)
	}
	defer os.Remove(path)
	defer f.Close()
	start := time.Now()
	for done := int64(0); done < n; done += mib {
		if _, err := f.Write(buf); err != nil {
			return 0, fmt.Errorf("wharfbench: disk probe: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("wharfbench: disk probe: %w", err)
	}
	return float64(n) / mib / time.Since(start).Seconds(), nil
}
