package doctor

import (
	"context"
	"fmt"
	"io"
)

// Status is the outcome of one check.
type Status int

// Outcomes. Only Fail makes `wharf doctor` exit non-zero; Skip says a check
// could not run for lack of input.
const (
	Pass Status = iota
	Warn
	Fail
	Skip
)

func (s Status) String() string {
	return [...]string{"ok", "warn", "FAIL", "skip"}[s]
}

// Result is one check's outcome, with a fix when it did not pass.
type Result struct {
	Check  string
	Status Status
	Detail string
	Fix    string
}

// Report collects results.
type Report struct{ Results []Result }

func (r *Report) add(check string, st Status, detail, fix string) {
	r.Results = append(r.Results, Result{Check: check, Status: st, Detail: detail, Fix: fix})
}

// Pass records a passed check.
func (r *Report) Pass(check, detail string) { r.add(check, Pass, detail, "") }

// Fail records a failed check and its fix.
func (r *Report) Fail(check, detail, fix string) { r.add(check, Fail, detail, fix) }

// Warn records a doubtful finding and its fix.
func (r *Report) Warn(check, detail, fix string) { r.add(check, Warn, detail, fix) }

// Skip records a check that could not run.
func (r *Report) Skip(check, why string) { r.add(check, Skip, why, "") }

// OK reports whether no check failed.
func (r *Report) OK() bool {
	for _, res := range r.Results {
		if res.Status == Fail {
			return false
		}
	}
	return true
}

// Print writes the report, one line per check and its fix under it.
func (r *Report) Print(w io.Writer) {
	counts := map[Status]int{}
	for _, res := range r.Results {
		counts[res.Status]++
		fmt.Fprintf(w, "%-4s  %s: %s\n", res.Status, res.Check, res.Detail)
		if res.Fix != "" {
			fmt.Fprintf(w, "      fix: %s\n", res.Fix)
		}
	}
	fmt.Fprintf(w, "\n%d ok, %d warnings, %d failed, %d skipped\n", counts[Pass], counts[Warn], counts[Fail], counts[Skip])
}

// Run runs every check of setup.
func Run(ctx context.Context, setup Setup) *Report {
	r := &Report{}
	checkRefused(r, setup)
	checkConsistency(r, setup)
	checkCertificates(r, setup)
	checkData(ctx, r, setup)
	checkS3(ctx, r, setup)
	checkRealm(ctx, r, setup)
	return r
}
