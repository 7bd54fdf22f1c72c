package e2e

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"wharf/e2e/harness"
)

const (
	// minConformanceCases guards against a silent no-op run (wrong registry,
	// everything disabled): the pinned suite runs several hundred leaf cases
	// against a registry that supports every API.
	minConformanceCases = 500
	// detailedCases is how many failing cases get their error text in the
	// failure message; the rest are listed by name only.
	detailedCases      = 40
	conformanceTimeout = 15 * time.Minute
)

// conformanceDisabledOK lists the data sets the suite disables by default and
// that we leave off on purpose. Anything else reported Disabled fails.
var conformanceDisabledOK = map[string]string{
	"Sparse Manifests": "pushes an index whose children are missing; off by default in the suite and allowed to be refused",
}

// TestConformance runs the official OCI distribution-spec conformance suite
// (pinned in scripts/deps.sh) against wharf with every API and every default
// data set enabled, and fails on any failed, errored or skipped case.
func TestConformance(t *testing.T) {
	harness.SkipIfShort(t)
	runConformance(t, startWharf(t), nil, nil, nil)
}

// TestConformanceTokenAuth runs the suite against `wharf serve` with token
// authentication on: the suite logs in as admin through the token flow.
// Anonymous mounts (a mount without `from`) are off there on purpose: a
// token names the repositories it may read, so linking a blob from an
// unnamed one could leak content.
func TestConformanceTokenAuth(t *testing.T) {
	harness.SkipIfShort(t)
	w := startTokenWharf(t)
	runConformance(t, w,
		[]string{"OCI_USERNAME=admin", "OCI_PASSWORD=" + adminPassword, "OCI_API_BLOBS_MOUNT_ANONYMOUS=false"},
		map[string]string{"Blob anonymous mount": "a token names the repositories it may read; a mount without from is refused"},
		map[string]string{"/mount anonymous/": "the anonymous-mount API is disabled above"})
}

// runConformance runs the suite against w; extraEnv overrides the settings
// below, disabledAPIs lists APIs allowed to be reported Disabled and
// skippedCases the case-name substrings allowed to be skipped (the cases of
// those APIs), each with the reason.
func runConformance(t *testing.T, w *harness.Wharf, extraEnv []string, disabledAPIs, skippedCases map[string]string) {
	bin := harness.ConformanceBinary(t)

	// Reports are kept when the test fails, so they can be read afterwards.
	dir, err := os.MkdirTemp("", "wharf-conformance-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("conformance reports kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})

	env := []string{
		"OCI_CONFIGURATION=", // set but empty: never read an oci-conformance.yaml
		"OCI_VERSION=1.1",
		"OCI_LOG=warn",
		"OCI_REGISTRY=" + w.Addr(),
		"OCI_TLS=disabled",
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo2",
		"OCI_RESULTS_DIR=" + dir,
		"OCI_API_PULL=true",
		"OCI_API_PUSH=true",
		"OCI_API_BLOBS_DELETE=true",
		"OCI_API_BLOBS_MOUNT_ANONYMOUS=true",
		"OCI_API_BLOBS_UPLOAD_CANCEL=true",
		"OCI_API_MANIFESTS_DELETE=true",
		"OCI_API_MANIFESTS_TAG_PARAM=true",
		"OCI_API_TAGS_DELETE=true",
		"OCI_API_TAGS_LIST=true",
		"OCI_API_REFERRER=true",
	}
	for _, d := range []string{"IMAGE", "INDEX", "INDEX_LIST", "ARTIFACT", "SUBJECT", "SUBJECT_MISSING",
		"ARTIFACT_LIST", "SUBJECT_LIST", "DATA_FIELD", "NONDISTRIBUTABLE", "CUSTOM_FIELDS", "NO_LAYERS",
		"EMPTY_BLOB", "SHA512"} {
		env = append(env, "OCI_DATA_"+d+"=true")
	}
	env = append(env, extraEnv...)

	logPath := filepath.Join(dir, "conformance.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), conformanceTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = append(withoutPrefix(os.Environ(), "OCI_"), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	_ = logFile.Close()
	t.Logf("conformance ran in %v (exit: %v); reports: %s, %s, %s, output: %s",
		time.Since(start).Round(time.Millisecond), runErr,
		filepath.Join(dir, "results.yaml"), filepath.Join(dir, "junit.xml"), filepath.Join(dir, "report.html"), logPath)
	if ctx.Err() != nil {
		t.Fatalf("conformance suite did not finish within %v", conformanceTimeout)
	}

	var problems []string
	sum, err := readConformanceResults(filepath.Join(dir, "results.yaml"))
	if err != nil {
		t.Fatalf("%v\nsuite output:\n%s", err, tailFile(logPath, 80))
	}
	for _, group := range []struct {
		kind string
		m    map[string]string
	}{{"API", sum.APIs}, {"data", sum.Data}} {
		for _, name := range slices.Sorted(maps.Keys(group.m)) {
			switch st := group.m[name]; {
			case st == "Pass":
			case st == "Disabled" && group.kind == "data" && conformanceDisabledOK[name] != "":
				t.Logf("conformance: data %q disabled: %s", name, conformanceDisabledOK[name])
			case st == "Disabled" && group.kind == "API" && disabledAPIs[name] != "":
				t.Logf("conformance: API %q disabled: %s", name, disabledAPIs[name])
			default:
				problems = append(problems, fmt.Sprintf("%s %q: %s", group.kind, name, st))
			}
		}
	}

	cases, err := readJUnitCases(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatalf("%v\nsuite output:\n%s", err, tailFile(logPath, 80))
	}
	counts := map[string]int{}
	detailed := 0
	for _, c := range cases {
		counts[c.Status]++
		if c.Status == "passed" {
			continue
		}
		if reason := skipAllowed(skippedCases, c.Name); c.Status == "skipped" && reason != "" {
			t.Logf("conformance: case %q skipped: %s", c.Name, reason)
			continue
		}
		detail := ""
		if detailed < detailedCases {
			detail = indent(shorten(c.SystemOut, 600))
			detailed++
		}
		problems = append(problems, fmt.Sprintf("case %q: %s%s", c.Name, c.Status, detail))
	}
	t.Logf("conformance: %d cases %v", len(cases), counts)
	if len(cases) < minConformanceCases {
		problems = append(problems, fmt.Sprintf("only %d cases ran, want at least %d: the suite did not really run", len(cases), minConformanceCases))
	}
	if runErr != nil && len(problems) == 0 {
		problems = append(problems, fmt.Sprintf("suite exited with %v but reported no failing case", runErr))
	}
	if len(problems) > 0 {
		t.Errorf("OCI conformance: %d problem(s):\n%s\nsuite output (tail):\n%s",
			len(problems), strings.Join(problems, "\n"), tailFile(logPath, 40))
	}
	checkRequestIDs(t, w)
}

// conformanceSummary is the part of results.yaml we check: the status of
// every API and data set, as Pass, FAIL, Error, Skip or Disabled.
type conformanceSummary struct {
	APIs map[string]string `yaml:"apis"`
	Data map[string]string `yaml:"data"`
}

func readConformanceResults(path string) (conformanceSummary, error) {
	var s conformanceSummary
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("conformance wrote no results.yaml: %w", err)
	}
	if err := yaml.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("parse %s: %w", path, err)
	}
	if len(s.APIs) == 0 || len(s.Data) == 0 {
		return s, fmt.Errorf("%s lists no API or data results", path)
	}
	return s, nil
}

// junitCase is one leaf of the suite; junit.xml is the only report that
// names every leaf with its status and errors.
type junitCase struct {
	Name      string `xml:"name,attr"`
	Status    string `xml:"status,attr"`
	SystemOut string `xml:"system-out"`
}

func readJUnitCases(path string) ([]junitCase, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conformance wrote no junit.xml: %w", err)
	}
	var doc struct {
		Suites []struct {
			Cases []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var cases []junitCase
	for _, s := range doc.Suites {
		cases = append(cases, s.Cases...)
	}
	if len(cases) == 0 {
		return nil, errors.New(path + " has no test cases")
	}
	return cases, nil
}

func withoutPrefix(env []string, prefix string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, prefix) })
}

func shorten(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "\n    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// skipAllowed returns the reason a case may be skipped, or "".
func skipAllowed(allowed map[string]string, name string) string {
	for sub, reason := range allowed {
		if strings.Contains(name, sub) {
			return reason
		}
	}
	return ""
}
