package wharfbench

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestTreeCPUCountsChildren checks that treeCPU adds the CPU of a living
// child to its parent's (PostgreSQL works in one backend per connection):
// a shell that spins, then sleeps, must show in this process's tree.
func TestTreeCPUCountsChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec sleep 30`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Wait for the loop to end (the shell becomes sleep, whose stat
	// keeps the shell's CPU time).
	var child time.Duration
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		if err == nil && string(b) == "sleep\n" {
			if child, err = statTicks(cmd.Process.Pid, false); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the spinning shell did not finish within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("the spinning shell used no CPU tick: the test proves nothing")
	}
	self, err := statTicks(os.Getpid(), true)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := treeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// The process's own time only grows between the two reads.
	if tree < self+child {
		t.Errorf("treeCPU = %v, want at least the process's %v plus its child's %v", tree, self, child)
	}
	t.Logf("process %v, child %v, tree %v", self, child, tree)
}
