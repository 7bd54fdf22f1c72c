package bench

import (
	"fmt"
	"os"
	"testing"

	"wharf/bench/wharfbench"
)

// TestMain lets the smoke test's receive probes run this test binary again
// as their server (see wharfbench.ServeReceiveProbe) before any test runs.
func TestMain(m *testing.M) {
	if probe, err := wharfbench.ServeReceiveProbe(); probe {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
