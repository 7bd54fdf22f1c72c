package wharfbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuSample is how long a process's threads and the machine's cores have
// run. The process's time comes from the scheduler in nanoseconds, so even
// a smoke run's push of a few MiB measures more than zero; the machine's
// only in hundredths of a second (/proc/stat).
type cpuSample struct {
	at   time.Time
	proc time.Duration // the process's threads on a CPU
	// user and sys split proc as the kernel accounts it (/proc/PID/stat,
	// in ticks of 10 ms): the process's own code, and the kernel working
	// for it (system calls, page faults).
	user, sys time.Duration
	busy      time.Duration // every task on every core, the kernel's included
	cores     int
}

// sampleCPU reads the run time of process pid (the sum over its threads,
// /proc/PID/task/*/schedstat; a thread that exits between two samples takes
// its time along, which Go's threads seldom do) and of all cores
// (/proc/stat).
func sampleCPU(pid int) (cpuSample, error) {
	s := cpuSample{at: time.Now()}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		return s, fmt.Errorf("wharfbench: CPU time of process %d: no /proc/%d/task/*/schedstat", pid, pid)
	}
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread exited
		}
		ns, err := field(string(b), 0)
		if err != nil {
			return s, fmt.Errorf("wharfbench: CPU time: %s: %w", path, err)
		}
		s.proc += ns
	}
	if s.user, s.sys, err = userSys(pid); err != nil {
		return s, err
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, fmt.Errorf("wharfbench: CPU time: %w", err)
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 8 && f[0] == "cpu":
			// user nice system idle iowait irq softirq: all but idle and
			// iowait, in USER_HZ ticks (100 per second on every Linux).
			for _, i := range []int{1, 2, 3, 6, 7} {
				ticks, err := strconv.ParseInt(f[i], 10, 64)
				if err != nil {
					return s, fmt.Errorf("wharfbench: CPU time: /proc/stat: %w", err)
				}
				s.busy += time.Duration(ticks) * (time.Second / 100)
			}
		case len(f) > 0 && strings.HasPrefix(f[0], "cpu"):
			s.cores++
		}
	}
	if s.cores == 0 {
		return s, fmt.Errorf("wharfbench: CPU time: no cpu lines in /proc/stat")
	}
	return s, nil
}

// userSys reads the user and system time of process pid, all its threads
// (utime and stime of /proc/PID/stat, in USER_HZ ticks, 100 per second).
func userSys(pid int) (user, sys time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("wharfbench: CPU time: %w", err)
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after it (state is the first, utime the 12th, stime the
	// 13th).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("wharfbench: CPU time: /proc/%d/stat: %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("wharfbench: CPU time: /proc/%d/stat: %q", pid, b)
	}
	var ticks [2]int64
	for j, k := range []int{11, 12} {
		if ticks[j], err = strconv.ParseInt(f[k], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("wharfbench: CPU time: /proc/%d/stat: %w", pid, err)
		}
	}
	const tick = time.Second / 100
	return time.Duration(ticks[0]) * tick, time.Duration(ticks[1]) * tick, nil
}

// field parses the i-th space-separated field of line as nanoseconds.
func field(line string, i int) (time.Duration, error) {
	f := strings.Fields(line)
	if len(f) <= i {
		return 0, fmt.Errorf("%q has no field %d", strings.TrimSpace(line), i)
	}
	n, err := strconv.ParseInt(f[i], 10, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(n), nil
}

// cpuUse accumulates what ran between pairs of samples.
type cpuUse struct {
	proc, user, sys, busy, capacity time.Duration
}

// add counts what ran between before and after.
func (u *cpuUse) add(before, after cpuSample) {
	u.proc += after.proc - before.proc
	u.user += after.user - before.user
	u.sys += after.sys - before.sys
	u.busy += after.busy - before.busy
	u.capacity += after.at.Sub(before.at) * time.Duration(after.cores)
}

// busyPercent is the share of the cores' time that something ran.
func (u cpuUse) busyPercent() float64 {
	if u.capacity <= 0 {
		return 0
	}
	return 100 * float64(u.busy) / float64(u.capacity)
}
