// Package wharfbench runs the same workloads against wharf and the real
// distribution registry (bin/registry) in one run, alternating, and reports
// medians, spreads and ratios beside the physical limits of the machine
// (SHA-256 on one core, sequential write with fsync on the data disk).
// Two passes follow the main table: garbage collection of one set of images
// by both (wharf online while clients pull, distribution offline), and the
// push and pull workloads on a wharf with metrics, audit and notifications
// off and one with them on. Then the push and pulls with blobs on S3 (wharf
// and distribution on one versitygw, pulls redirected to presigned URLs and
// proxied, beside the S3 server's own throughput measured with the AWS SDK),
// and the small images on two wharf replicas sharing one PostgreSQL (which
// it starts) against one, with the CPU each process used.
//
// It owns the benchmark's process lifecycle (both servers on loopback ports,
// storage and logs under one temporary directory, so on the same disk) and
// its HTTP client, which is plain net/http and never sleeps. It sees the
// servers only through their command lines and the OCI distribution API, so
// it must not import anything under wharf/internal.
//
// `go run ./bench/cmd/wharfbench` (or `make bench`) is the command; the smoke
// test in wharf/bench runs Run with Smoke set.
package wharfbench
