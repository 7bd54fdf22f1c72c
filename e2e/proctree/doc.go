// Package proctree cleans up after a daemon that starts processes and
// mounts of its own (dockerd, with containerd and its shims): the children
// of a process, stopping one left behind without hitting a recycled pid,
// and the mount points under a directory. It reads /proc, so it is Linux
// only; package dockerd (the private Docker daemon of the e2e tests and
// the benchmarks) uses it, and it imports nothing of wharf's.
package proctree
