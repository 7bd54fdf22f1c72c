package wharfbench

import (
	"crypto/sha256"
	"os"
	"testing"
	"time"
)

// TestSampleCPU spins this process for a while and checks that both its own
// run time and the machine's busy time grew by about as much.
func TestSampleCPU(t *testing.T) {
	before, err := sampleCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		sha256.Sum256(buf)
	}
	after, err := sampleCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var u cpuUse
	u.add(before, after)
	if u.proc < 100*time.Millisecond {
		t.Errorf("process ran %v while spinning for 200ms", u.proc)
	}
	if u.busy < 100*time.Millisecond {
		t.Errorf("the machine was busy %v while this process spun for 200ms", u.busy)
	}
	if p := u.busyPercent(); p <= 0 || p > 110 {
		t.Errorf("busy %.1f %%, want within (0, 100] (and ticks of 10ms)", p)
	}
	if after.cores < 1 {
		t.Errorf("%d cores", after.cores)
	}
}
