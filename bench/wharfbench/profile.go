package wharfbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// selected keeps the workloads with a row whose name only matches (all of
// them when only is nil).
func selected(wls []workload, only *regexp.Regexp) []workload {
	if only == nil {
		return wls
	}
	var out []workload
	for _, wl := range wls {
		for _, r := range wl.allRows() {
			if only.MatchString(r.name) {
				out = append(out, wl)
				break
			}
		}
	}
	return out
}

// profileAll runs every workload again on each server, unmeasured, for
// o.ProfileSeconds while that server's CPU profile and allocation profile
// (a delta over the same seconds) are taken, and writes them to
// o.ProfileDir as <server>-<workload>.cpu.pprof and .allocs.pprof.
func profileAll(ctx context.Context, o Options, wls []workload, targets []*target) error {
	if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
		return fmt.Errorf("wharfbench: %w", err)
	}
	for wi, wl := range wls {
		if wl.auth || wl.docker {
			// Their load goes to other processes (the token-auth servers,
			// dockerd) or lasts longer than a profile.
			fmt.Fprintf(o.Progress, "not profiled: %s\n", wl.rows[0].name)
			continue
		}
		for _, t := range targets {
			name := wl.rows[0].name
			if wl.profile != nil {
				name = wl.rows[wl.profileRow].name
			}
			base := filepath.Join(o.ProfileDir, t.name+"-"+slug(name))
			fmt.Fprintf(o.Progress, "profiling %s: %s (%ds)\n", t.name, wl.rows[0].name, o.ProfileSeconds)
			pctx, cancel := context.WithCancel(ctx)
			errc := make(chan error, 2)
			for kind, path := range map[string]string{"cpu": "profile", "allocs": "allocs"} {
				go func() {
					errc <- fetchProfile(pctx, t.debugURL+"/debug/pprof/"+path, o.ProfileSeconds, base+"."+kind+".pprof")
				}()
			}
			deadline := time.Now().Add(time.Duration(o.ProfileSeconds) * time.Second)
			var runErr error
			// Round numbers past the measured ones (and their turns), so
			// pushes make new blobs.
			run := wl.run
			if wl.profile != nil {
				run = wl.profile
			}
			for round := o.Rounds*max(wl.turns, 1) + wi; time.Now().Before(deadline) && runErr == nil; round++ {
				_, runErr = run(pctx, t, round)
			}
			err1, err2 := <-errc, <-errc
			cancel()
			if runErr != nil {
				return fmt.Errorf("wharfbench: profiling %s on %s: %w", wl.rows[0].name, t.name, runErr)
			}
			if err1 != nil || err2 != nil {
				return fmt.Errorf("wharfbench: profiles of %s: %v; %v (log %s)", t.name, err1, err2, t.logPath)
			}
		}
	}
	fmt.Fprintf(o.Progress, "profiles in %s: go tool pprof -http=: %s/wharf-<workload>.cpu.pprof\n", o.ProfileDir, o.ProfileDir)
	return nil
}

func fetchProfile(ctx context.Context, url string, seconds int, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s?seconds=%d", url, seconds), nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{Timeout: time.Duration(seconds+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, res.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a workload's name a file name: "manifest GET by tag, 64
// connections" → "manifest-get-by-tag-64-connections".
func slug(name string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(name), "-"), "-")
}
