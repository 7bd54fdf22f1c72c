// Package bench holds benchmarks that measure wharf, side by side with its
// peers where there is one. They are benchmarks, never tests: `make bench-*`
// runs them and prints the numbers and ratios.
package bench
