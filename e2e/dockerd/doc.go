// Package dockerd runs a private Docker daemon for the e2e tests and the
// benchmarks: its own data root, exec root, pid file, config and socket
// under a short directory in /tmp, vfs storage, no iptables and no bridge,
// so that it touches nothing on the host and never meets another daemon.
// It starts the daemon, runs the docker CLI against it with a private
// client config, and stops it with its containerd, unmounting what they
// left (through proctree). It imports nothing of wharf's but proctree, and
// never the testing package: the harness adds that.
package dockerd
