package wharfbench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The replicas pass runs the small-image workload on two wharf replicas
// sharing one PostgreSQL database and one data directory, the clients
// alternating between the two addresses (no balancer), against the same
// workload sent to one of them alone. It also records what each process
// used of the CPU, since on a small machine that, not wharf, bounds the
// scaling.

// startPostgres makes a PostgreSQL cluster in dir/postgres and starts it on
// a free loopback port; it returns the server and the DSN of its database
// "postgres" as the superuser, whose random password is in the DSN only.
// As root, the cluster belongs to the account "postgres" (PostgreSQL
// refuses to run as root).
func startPostgres(ctx context.Context, dir string) (*server, string, error) {
	initdb, err1 := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	postgres, err2 := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if err1 != nil || err2 != nil || len(initdb) == 0 || len(postgres) == 0 {
		return nil, "", fmt.Errorf("wharfbench: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql, or run `make deps`")
	}
	pgdir := filepath.Join(dir, "postgres")
	if err := os.MkdirAll(pgdir, 0o700); err != nil {
		return nil, "", fmt.Errorf("wharfbench: %w", err)
	}
	password := randomHex(12)
	if err := os.WriteFile(filepath.Join(pgdir, "pw"), []byte(password+"\n"), 0o600); err != nil {
		return nil, "", fmt.Errorf("wharfbench: %w", err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		var err error
		if cred, err = accountOf("postgres"); err != nil {
			return nil, "", err
		}
		if err := giveDir(pgdir, cred); err != nil {
			return nil, "", err
		}
	}
	data := filepath.Join(pgdir, "data")
	cmd := exec.CommandContext(ctx, initdb[len(initdb)-1], "-D", data, "-U", "postgres", "--pwfile", filepath.Join(pgdir, "pw"),
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = pgdir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("wharfbench: initdb: %w\n%s", err, out)
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, "", err
	}
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, "", fmt.Errorf("wharfbench: %w", err)
	}
	// Durability as shipped (fsync and synchronous commits on): the
	// database's commits are part of what the replicas share.
	cmd = exec.Command(postgres[len(postgres)-1], "-D", data, "-c", "listen_addresses=127.0.0.1", "-c", "port="+port,
		"-c", "unix_socket_directories="+pgdir, "-c", "max_connections=300")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = pgdir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, "", fmt.Errorf("wharfbench: start postgres: %w", err)
	}
	s := &server{name: "postgres", url: "postgres://" + addr, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "ready to accept connections") {
			break
		}
		if err := s.alive(); err != nil {
			return nil, "", err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, "", fmt.Errorf("wharfbench: postgres did not start within %v (log %s)", startTimeout, logPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, fmt.Sprintf("postgres://postgres:%s@%s/postgres?sslmode=disable", password, addr), nil
}

// accountOf is the credential of a local account, for a server that must
// not run as root.
func accountOf(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("wharfbench: the benchmark runs as root and PostgreSQL must not: account %q: %w (apt-get install postgresql creates it)", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("wharfbench: account %q: uid %q, gid %q", name, u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// giveDir hands dir and its files to cred's account and lets it traverse
// every parent of dir (temporary directories are 0700): search permission
// only, no listing.
func giveDir(dir string, cred *syscall.Credential) error {
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return fmt.Errorf("wharfbench: %w", err)
	}
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("wharfbench: %w", err)
		}
		if fi.Mode().Perm()&0o001 != 0 {
			continue // a parent of a 0700 one may itself be 0700 (t.TempDir)
		}
		if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
			return fmt.Errorf("wharfbench: %w", err)
		}
	}
	return nil
}

// treeCPU is the CPU time of process pid and of its children, living
// (their /proc/PID/stat) and reaped (pid's cutime and cstime): PostgreSQL
// works in one backend process per connection.
func treeCPU(pid int) (time.Duration, error) {
	total, err := statTicks(pid, true)
	if err != nil {
		return 0, err
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue // gone
		}
		f := statFields(b)
		if len(f) < 15 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if t, err := statTicks(child, false); err == nil {
			total += t
		}
	}
	return total, nil
}

// statFields are the fields of /proc/PID/stat after the command name.
func statFields(b []byte) []string {
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// statTicks is pid's utime and stime, plus its reaped children's with
// children, from /proc/PID/stat.
func statTicks(pid int, children bool) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("wharfbench: CPU time: %w", err)
	}
	f := statFields(b)
	if len(f) < 15 {
		return 0, fmt.Errorf("wharfbench: CPU time: /proc/%d/stat: %q", pid, b)
	}
	idx := []int{11, 12}
	if children {
		idx = append(idx, 13, 14)
	}
	var ticks int64
	for _, k := range idx {
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("wharfbench: CPU time: /proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}

// replicaUse is the CPU each process of the two-replica side used, summed
// over its runs, and their wall time.
type replicaUse struct {
	wall, a, b, db time.Duration
	// client is the benchmark's own process (its clients), with how busy
	// all cores were, whatever ran on them.
	client cpuUse
}

// replicaImages is smallImages spread over urls: image i is pushed to and
// pulled from urls[i%len(urls)], as clients alternating between replicas
// do. Each side and round pushes images of its own (seed), into
// repositories of its own. With use, it adds the CPU of pids (replica A,
// replica B, PostgreSQL) during the run.
func replicaImages(urls []string, side string, seed uint64, pids []int, use *replicaUse) func(ctx context.Context, t *target, round int) ([]float64, error) {
	return func(ctx context.Context, t *target, round int) ([]float64, error) {
		o := t.opts
		ims := smallImageSet(o.SmallImages, o.SmallLayer, seed+uint64(round)*16)
		repo := func(i int) string { return fmt.Sprintf("bench/replicas/%s/r%d/i%05d", side, round, i) }
		var before []time.Duration
		var self cpuSample
		if use != nil {
			var err error
			if before, err = cpuOf(pids); err != nil {
				return nil, err
			}
			if self, err = sampleCPU(os.Getpid()); err != nil {
				return nil, err
			}
		}
		start := time.Now()
		err := parallel(ctx, o.SmallClients, len(ims), func(ctx context.Context, i int) error {
			return pushImageChecked(ctx, t.c, urls[i%len(urls)], repo(i), ims[i], "v1")
		})
		if err != nil {
			return nil, fmt.Errorf("small images push (%s): %w", side, err)
		}
		push := time.Since(start)
		start = time.Now()
		err = parallel(ctx, o.SmallClients, len(ims), func(ctx context.Context, i int) error {
			// With two, half the images from the replica they were
			// pushed to and half from the other (which learnt of them
			// from the database), as a round-robin balancer spreads them.
			return pullImage(ctx, t.c, urls[(i/2)%len(urls)], repo(i), ims[i], "v1")
		})
		if err != nil {
			return nil, fmt.Errorf("small images pull (%s): %w", side, err)
		}
		pull := time.Since(start)
		if use != nil {
			after, err := cpuOf(pids)
			if err != nil {
				return nil, err
			}
			selfAfter, err := sampleCPU(os.Getpid())
			if err != nil {
				return nil, err
			}
			use.client.add(self, selfAfter)
			use.wall += push + pull
			use.a += after[0] - before[0]
			use.b += after[1] - before[1]
			use.db += after[2] - before[2]
		}
		n := float64(len(ims))
		return []float64{n / push.Seconds(), n / pull.Seconds()}, nil
	}
}

func cpuOf(pids []int) ([]time.Duration, error) {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		t, err := treeCPU(pid)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// startReplica starts wharf replica name on the PostgreSQL database dsn
// and the shared data directory data.
func startReplica(ctx context.Context, bin, dir, name, data, dsn string) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	// The DSN in a file (0600), not on the command line where ps shows it.
	cfg := filepath.Join(dir, name+".yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("database:\n  driver: postgres\n  dsn: %q\n", dsn)), 0o600); err != nil {
		return nil, fmt.Errorf("wharfbench: %w", err)
	}
	return startServer(ctx, name, addr, filepath.Join(dir, name+".log"), bin,
		"serve", "--addr", addr, "--data", data, "--auth", "none", "--tls", "off", "--config", cfg)
}

// runReplicas measures the small-image workload on two replicas against
// one, o.Rounds times, and returns the scaling table.
func runReplicas(ctx context.Context, o Options, wharfBin, dir string) ([]Comparison, error) {
	pg, dsn, err := startPostgres(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer pg.stop()
	data := filepath.Join(dir, "replicas-data")
	var reps []*server
	for _, name := range []string{"wharf-replica-a", "wharf-replica-b"} {
		s, err := startReplica(ctx, wharfBin, dir, name, data, dsn)
		if err != nil {
			return nil, err
		}
		defer s.stop()
		reps = append(reps, s)
	}
	var use replicaUse
	pids := []int{reps[0].cmd.Process.Pid, reps[1].cmd.Process.Pid, pg.cmd.Process.Pid}
	small := fmt.Sprintf("%d images of 3 × %s, %d clients", o.SmallImages, sizeName(o.SmallLayer), o.SmallClients)
	goal := Goal{}
	if runtime.NumCPU() >= 4 {
		goal.Ratio = 1.7
	}
	wl := workload{rows: []row{{name: "small images push, " + small, unit: "images/s", goal: goal}, {name: "small images pull, " + small, unit: "images/s", goal: goal}}}
	// Both sides measure replica A's process (runOnce reads its pid);
	// the copies only name them in the progress lines.
	twoSrv, oneSrv := *reps[0], *reps[0]
	twoSrv.name, oneSrv.name = "two replicas", "one replica (wharf-replica-a)"
	two := &target{server: &twoSrv, c: newClient(), opts: o, dir: dir}
	one := &target{server: &oneSrv, c: newClient(), opts: o, dir: dir, idx: 1}
	// Each target runs its own function: the workload's run is chosen
	// by the target it is given.
	runTwo := replicaImages([]string{reps[0].url, reps[1].url}, "two", 300, pids, &use)
	runOne := replicaImages([]string{reps[0].url}, "one", 700, nil, nil)
	wl.run = func(ctx context.Context, t *target, round int) ([]float64, error) {
		if t == two {
			return runTwo(ctx, t, round)
		}
		return runOne(ctx, t, round)
	}
	results := []Result{{Name: wl.rows[0].name, Unit: "images/s", Goal: goal}, {Name: wl.rows[1].name, Unit: "images/s", Goal: goal}}
	for round := range o.Rounds {
		fmt.Fprintf(o.Progress, "two replicas and one, round %d/%d\n", round+1, o.Rounds)
		vals, err := measureRound(ctx, wl, []*target{two, one}, round, round, results)
		if err != nil {
			return nil, err
		}
		for j := range vals[0] {
			results[j].Wharf = append(results[j].Wharf, vals[0][j])
			results[j].Distr = append(results[j].Distr, vals[1][j])
		}
	}
	for _, s := range append(reps, pg) {
		if err := s.alive(); err != nil {
			return nil, err
		}
	}
	busy := func(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()/use.wall.Seconds()) }
	notes := []string{
		"Two `wharf serve` replicas with `database.driver: postgres` on one PostgreSQL (started by the benchmark, fsync on) and one data directory; the clients alternate between the two addresses image by image (no balancer), and pull half the images from the replica they were pushed to and half from the other, as a round-robin balancer would. One replica: the same workload, new images, all sent to replica A.",
		"The ratio is the scaling factor (two replicas over one).",
		fmt.Sprintf("CPU during the two-replica runs, in cores busy on average (CPU time over wall time; %d cores): replica A %s, replica B %s, PostgreSQL (all its processes) %s, the benchmark's clients %s; all cores were %.0f %% busy (everything on the machine), so what these processes did not use, other work did.",
			runtime.NumCPU(), busy(use.a), busy(use.b), busy(use.db), busy(use.client.proc), min(use.client.busyPercent(), 100)),
	}
	if goal.Ratio == 0 {
		notes = append(notes, fmt.Sprintf("No target is judged on %d cores: two replicas, PostgreSQL and the clients share them, so a second replica adds no CPU to share out; the goal (≥ 1.7×) needs a machine with the cores to show it.", runtime.NumCPU()))
	}
	return []Comparison{{Section: replicasSection, Title: "Small images on two replicas and on one", A: "two replicas", B: "one replica", Results: results, Notes: notes}}, nil
}
