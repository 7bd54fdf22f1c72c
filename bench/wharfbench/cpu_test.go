package wharfbench

import (
	"crypto/sha256"
	"os"
	"testing"
	"time"
)

// TestSampleCPU spins this process until its own samples say it ran for
// 200ms, and checks that the machine's busy time grew by at least about as
// much. It waits on CPU time, not wall time, so a loaded machine makes it
// slower, not flaky.
func TestSampleCPU(t *testing.T) {
	before, err := sampleCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	var u cpuUse
	for deadline := time.Now().Add(30 * time.Second); ; {
		for range 64 {
			sha256.Sum256(buf)
		}
		after, err := sampleCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after.cores < 1 {
			t.Fatalf("%d cores", after.cores)
		}
		u = cpuUse{}
		u.add(before, after)
		if u.proc >= 200*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process ran only %v of CPU in 30s of spinning", u.proc)
		}
	}
	// /proc/stat counts in 10ms ticks per core: allow a few of them.
	if u.busy < 150*time.Millisecond {
		t.Errorf("the machine was busy %v while this process ran %v", u.busy, u.proc)
	}
	// Spinning is user time: the kernel's split (10ms ticks, sampled)
	// must account for most of it there, and the two parts for about the
	// whole.
	if u.user < 100*time.Millisecond || u.user+u.sys < 150*time.Millisecond {
		t.Errorf("user %v, system %v while this process ran %v spinning", u.user, u.sys, u.proc)
	}
	if p := u.busyPercent(); p <= 0 || p > 110 {
		t.Errorf("busy %.1f %%, want within (0, 100] (and ticks of 10ms)", p)
	}
}
