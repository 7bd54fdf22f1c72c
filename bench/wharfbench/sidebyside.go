package wharfbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// sideBySide starts wharf and distribution, measures the workloads wls on
// both o.Rounds times beside the machine's physical limits, and adds the
// rows and limits to rep; with o.ProfileDir, it then profiles both.
func sideBySide(ctx context.Context, o Options, rep *Report, wls []workload, wharfBin, distBin, dir string) error {
	began := time.Now()
	if o.ProfileDir != "" {
		fmt.Fprintf(o.Progress, "profiles will be written to %s\n", o.ProfileDir)
	}
	profiling := o.ProfileDir != ""
	w, err := startWharf(ctx, wharfBin, dir, "wharf", profiling, o.WharfConfig)
	if err != nil {
		return err
	}
	defer w.stop()
	d, err := startDistribution(ctx, distBin, dir, profiling)
	if err != nil {
		return err
	}
	defer d.stop()
	targets := []*target{
		{server: w, c: newClient(), opts: o, dir: dir, idx: 0},
		{server: d, c: newClient(), opts: o, dir: dir, idx: 1},
	}
	need := needsOf(wls)
	for _, t := range targets {
		fmt.Fprintf(o.Progress, "set-up on %s\n", t.name)
		if err := setup(ctx, t, need); err != nil {
			return serverFailed(err, t.server)
		}
	}
	if need.auth {
		fmt.Fprintf(o.Progress, "starting the token-auth servers\n")
		wa, da, err := startAuthServers(ctx, wharfBin, distBin, dir)
		if err != nil {
			return err
		}
		defer wa.stop()
		defer da.stop()
		targets[0].auth, targets[1].auth = wa, da
		for _, t := range targets {
			fmt.Fprintf(o.Progress, "set-up on %s: %d images\n", t.auth.registry.name, o.SmallImages)
			if err := setupAuth(ctx, t); err != nil {
				return serverFailed(errors.Join(err, t.auth.alive()), t.auth.registry)
			}
		}
	}
	mem, err := startCeilings(ctx, o, wls, targets[1].auth, dir)
	if err != nil {
		return err
	}
	if mem != nil {
		defer mem.stop()
	}
	dockerSkip := ""
	if need.docker {
		switch {
		case o.Smoke:
			dockerSkip = "left out of smoke runs (it needs root and a Docker daemon); `make bench` measures it"
		default:
			dockerSkip = dockerMissing()
		}
		if dockerSkip == "" {
			fmt.Fprintf(o.Progress, "starting a private dockerd\n")
			dd, err := startDockerd(ctx, dir)
			if err != nil {
				dockerSkip = "dockerd did not start: " + err.Error()
			} else {
				defer dd.Stop()
				targets[0].docker, targets[1].docker = dd, dd
			}
		}
		if dockerSkip != "" {
			fmt.Fprintf(o.Progress, "docker workload not measured: %s\n", dockerSkip)
		}
	}

	var measured []workload
	for _, wl := range wls {
		skip := ""
		if wl.docker {
			skip = dockerSkip
		}
		for _, r := range wl.allRows() {
			rep.Results = append(rep.Results, Result{Name: r.name, Unit: r.unit, LowerBetter: r.lowerBetter,
				Goal: r.goal, Ceiling: r.ceiling, NotMeasured: skip})
		}
		if skip == "" {
			measured = append(measured, wl)
		}
	}
	sha := Limit{Key: "sha256", Name: "SHA-256, one core (crypto/sha256)", Unit: "MiB/s"}
	disk := Limit{Key: "disk", Name: "sequential write + fsync, data disk", Unit: "MiB/s"}
	loop := Limit{Key: "loopback", Name: "sendfile of that file over loopback TCP, one reader", Unit: "MiB/s"}
	loop16 := Limit{Key: "loopback-16", Name: "the same sendfile to 16 readers at once, all bytes over the time of the last", Unit: "MiB/s"}
	recv := Limit{Key: "receive", Name: "HTTP PUT of that file to a net/http server that only reads it, loopback", Unit: "MiB/s"}
	recvHash := Limit{Key: "receive-sha256", Name: "the same PUT to a server that reads and hashes it (SHA-256) and stores nothing", Unit: "MiB/s"}
	for round := range o.Rounds {
		fmt.Fprintf(o.Progress, "round %d/%d (%s since the start)\n", round+1, o.Rounds, time.Since(began).Round(time.Second))
		sha.Samples = append(sha.Samples, sha256Throughput(o.LimitMiB*mib))
		path, v, err := diskWriteThroughput(dir, o.LimitMiB*mib)
		if err == nil {
			disk.Samples = append(disk.Samples, v)
			// One send lasts a tenth of a second and moves by half
			// from one to the next: a round takes several.
			for range loopbackSends {
				if v, err = sendfileThroughput(ctx, path, 1); err != nil {
					break
				}
				loop.Samples = append(loop.Samples, v)
			}
			if err == nil {
				v, err = sendfileThroughput(ctx, path, 16)
				loop16.Samples = append(loop16.Samples, v)
			}
			if err == nil {
				v, err = receiveThroughput(ctx, path, false)
				recv.Samples = append(recv.Samples, v)
			}
			if err == nil {
				v, err = receiveThroughput(ctx, path, true)
				recvHash.Samples = append(recvHash.Samples, v)
			}
		}
		if path != "" {
			os.Remove(path)
		}
		if err != nil {
			return err
		}
		sends := make([]string, 0, loopbackSends)
		for _, v := range loop.Samples[len(loop.Samples)-loopbackSends:] {
			sends = append(sends, num(v))
		}
		fmt.Fprintf(o.Progress, "  limits (MiB/s): SHA-256 %s, disk %s, loopback %s, to 16 readers %s, receive %s, receive and hash %s\n",
			num(sha.last()), num(disk.last()), strings.Join(sends, "/"), num(loop16.last()), num(recv.last()), num(recvHash.last()))
		for wi, wl := range wls {
			i := slices.IndexFunc(rep.Results, func(r Result) bool { return r.Name == wl.rows[0].name })
			if rep.Results[i].NotMeasured != "" {
				continue
			}
			vals, err := measureRound(ctx, wl, targets, round, round+wi, rep.Results[i:])
			if err != nil {
				return err
			}
			for j := range vals[0] {
				rep.Results[i+j].Wharf = append(rep.Results[i+j].Wharf, vals[0][j])
				rep.Results[i+j].Distr = append(rep.Results[i+j].Distr, vals[1][j])
			}
			if mem == nil || !wl.memory() {
				continue
			}
			// The ceiling runs right after the two servers, in the same
			// round: it sees the machine they saw.
			fmt.Fprintf(o.Progress, "  in-memory server: %s\n", wl.rows[0].name)
			mvals, err := runOnce(ctx, wl, mem.target, round)
			if err != nil {
				return serverFailed(err, mem.server)
			}
			fmt.Fprintf(o.Progress, "    %s\n", roundValues(rep.Results[i:], mvals))
			for j, v := range mvals {
				rep.Results[i+j].Memory = append(rep.Results[i+j].Memory, v)
			}
		}
	}
	rep.Limits = []Limit{sha, disk, loop, loop16, recv, recvHash}
	if profiling {
		return profileAll(ctx, o, measured, targets)
	}
	return nil
}

// startCeilings starts the in-memory server (memory.go) when a workload of
// wls is bound by it, sets it up as setup does the registries, and, when
// auth (the distribution side's token-auth pair, whose issuer is `wharf
// auth`) is set, a second one that verifies that issuer's tokens, as the
// target's auth side. It returns nil when no workload needs one.
func startCeilings(ctx context.Context, o Options, wls []workload, auth *authServers, dir string) (*memoryTarget, error) {
	if !slices.ContainsFunc(wls, workload.memory) {
		return nil, nil
	}
	fmt.Fprintf(o.Progress, "starting the in-memory server (the ceiling of the small-request rows)\n")
	s, err := startMemory(ctx, dir, "in-memory", "")
	if err != nil {
		return nil, err
	}
	m := &memoryTarget{target: &target{server: s, c: newClient(), opts: o, dir: dir, idx: 2}}
	if err := setup(ctx, m.target, needs{image: needsOf(wls).image}); err != nil {
		m.stop()
		return nil, serverFailed(err, s)
	}
	if auth == nil || !slices.ContainsFunc(wls, func(wl workload) bool { return wl.auth && wl.memory() }) {
		return m, nil
	}
	ts, err := startMemory(ctx, dir, "in-memory-token", auth.cert)
	if err != nil {
		m.stop()
		return nil, err
	}
	// The issuer stays the distribution side's: stop it there only.
	m.auth = &authServers{registry: ts, password: auth.password, realm: auth.realm, service: auth.service}
	if err := setupAuth(ctx, m.target); err != nil {
		m.stop()
		return nil, serverFailed(errors.Join(err, ts.alive()), ts)
	}
	return m, nil
}

// memoryTarget is the in-memory servers as a target of the workloads.
type memoryTarget struct{ *target }

func (m *memoryTarget) stop() {
	m.server.stop()
	if m.auth != nil {
		m.auth.registry.stop()
	}
}
