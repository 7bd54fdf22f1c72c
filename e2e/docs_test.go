package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
)

// The documents whose ```sh blocks the walk runs, and the part of each:
// README.md's "Using it" section (to the next second-level heading) and all
// of docs/deploy.md.
var walkedDocs = []struct{ file, section string }{
	{"README.md", "Using it"},
	{"docs/deploy.md", ""},
}

// docsAdminPassword is the admin password the documents set with
// WHARF_ADMIN_PASSWORD; a step marked "# asks for the password" gets it on
// a terminal, as a user would type it.
const docsAdminPassword = "choose-a-long-one"

// walkPassword is $PW, the password the documents let the user choose.
const walkPassword = "walk-the-docs-pw"

// listedSteps are the documented steps the walk does not run, by their
// exact text, with the reason. A listed step that is no longer in the
// documents fails the walk, so the list cannot go stale.
var listedSteps = map[string]string{
	"systemctl daemon-reload":                                 "no systemd as PID 1 here",
	"systemctl enable --now wharf":                            "no systemd as PID 1 here",
	"systemctl status wharf":                                  "no systemd as PID 1 here",
	"journalctl -u wharf -f":                                  "no systemd as PID 1 here (and -f never ends)",
	"wharf health --url https://registry.example.com/healthz": "an example host name; the step above checks the running server the same way",
	"docker compose -f compose-split.yml up -d": "the test daemon has no bridge network, so the services can neither publish ports nor resolve each other by name; " +
		"TestImage/compose-split runs this file, moved to the host network, with certificates from wharf certs init and a hashed password",
	"docker compose -f compose-split.yml ps": "follows the listed up -d",
}

// sharedSteps ran once before the walk, in the same copy of the repository
// and with the same environment: the image build TestImage shares.
var sharedSteps = map[string]bool{"make image": true}

// docStep is one command of a ```sh block: its lines joined where they end
// in a backslash.
type docStep struct {
	file    string
	line    int
	section string // the second-level heading it is under
	text    string
}

func (s docStep) String() string { return fmt.Sprintf("%s:%d: %s", s.file, s.line, s.text) }

// parseDocSteps returns the commands of the ```sh blocks of a Markdown
// document, skipping blank and comment-only lines. With only set, it keeps
// the second-level section of that title.
func parseDocSteps(file, src, only string) ([]docStep, error) {
	var (
		steps   []docStep
		section string
		inSh    bool
		inFence bool
		pending *docStep
	)
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			if pending != nil {
				return nil, fmt.Errorf("%s:%d: the block ends inside a continued line", file, n)
			}
			if inFence {
				inFence, inSh = false, false
			} else {
				inFence, inSh = true, trimmed == "```sh"
			}
			continue
		case !inFence && strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
			continue
		}
		if !inSh || (only != "" && section != only) {
			continue
		}
		if pending == nil {
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			pending = &docStep{file: file, line: n, section: section}
		}
		if body, cont := strings.CutSuffix(trimmed, `\`); cont {
			pending.text += strings.TrimSpace(body) + " "
			continue
		}
		pending.text += trimmed
		steps = append(steps, *pending)
		pending = nil
	}
	return steps, sc.Err()
}

// walkSteps reads the steps of every walked document from root.
func walkSteps(t *testing.T, root string) []docStep {
	t.Helper()
	var all []docStep
	for _, d := range walkedDocs {
		b, err := os.ReadFile(filepath.Join(root, d.file))
		if err != nil {
			t.Fatal(err)
		}
		steps, err := parseDocSteps(d.file, string(b), d.section)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) == 0 {
			t.Fatalf("%s: no ```sh step found (section %q)", d.file, d.section)
		}
		all = append(all, steps...)
	}
	return all
}

// withoutComment drops a trailing " # comment" from a step, for matching.
func withoutComment(s string) string {
	if i := strings.Index(s, " #"); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// TestDocsStepsListed checks, without running anything, that every listed
// step is still in the documents, that the parser finds the blocks, and
// that the recipes in the deploy files' headers are steps of
// docs/deploy.md: the quick half of the walk, for `go test -short` too.
func TestDocsStepsListed(t *testing.T) {
	steps := walkSteps(t, harness.RepoRoot(t))
	seen := map[string]bool{}
	for _, s := range steps {
		seen[withoutComment(s.text)] = true
	}
	for text := range listedSteps {
		if !seen[text] {
			t.Errorf("listed step %q is not in the documents any more: remove it from listedSteps", text)
		}
	}
	for text := range sharedSteps {
		if !seen[text] {
			t.Errorf("shared step %q is not in the documents any more", text)
		}
	}
	// The recipes in the headers of the deploy files ("#   command") are
	// the documents' steps, so the walk runs (or lists) them too.
	root := harness.RepoRoot(t)
	for _, f := range []string{"deploy/compose.yml", "deploy/compose-split.yml", "deploy/wharf.service"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, line := range strings.Split(string(b), "\n") {
			cmd, ok := strings.CutPrefix(line, "#   ")
			if !ok || strings.HasPrefix(cmd, " ") {
				continue
			}
			n++
			if !seen[withoutComment(cmd)] {
				t.Errorf("%s:%d: %q is not a step of %s: the walk does not run it", f, i+1, cmd, walkedDocs[1].file)
			}
		}
		if n == 0 {
			t.Errorf("%s: no recipe found in its header", f)
		}
	}
}

// TestServiceUnitStateMode checks that deploy/wharf.service gives the data
// directory the mode wharf wants for it: systemd applies StateDirectoryMode
// at every start, so another mode would bring serve's "open to group or
// others" warning back each time, whatever the operator chmods.
func TestServiceUnitStateMode(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(t), "deploy", "wharf.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^StateDirectoryMode=([0-7]+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("deploy/wharf.service sets no StateDirectoryMode (systemd's default, 0755, is open to others)")
	}
	if mode, _ := strconv.ParseUint(string(m[1]), 8, 32); os.FileMode(mode) != datadir.Mode {
		t.Errorf("deploy/wharf.service: StateDirectoryMode=%s, want %04o", m[1], datadir.Mode)
	}
}

func TestParseDocSteps(t *testing.T) {
	src := "# T\n\n## A\n\n```sh\nmake x   # why\n# a comment\n\ndocker run -d \\\n  --name n \\\n  img\n```\n\n```yaml\nk: v\n```\n\n## B\n\n```sh\nls\n```\n"
	tests := []struct {
		only string
		want []docStep
	}{
		{"", []docStep{
			{file: "f", line: 6, section: "A", text: "make x   # why"},
			{file: "f", line: 9, section: "A", text: "docker run -d --name n img"},
			{file: "f", line: 21, section: "B", text: "ls"},
		}},
		{"B", []docStep{{file: "f", line: 21, section: "B", text: "ls"}}},
	}
	for _, tc := range tests {
		got, err := parseDocSteps("f", src, tc.only)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("only=%q:\n got %v\nwant %v", tc.only, got, tc.want)
		}
	}
	if _, err := parseDocSteps("f", "```sh\nls \\\n```\n", ""); err == nil {
		t.Error("a block ending in a continued line was accepted")
	}
}

// walker runs documented steps one by one in a copy of the repository,
// each in a fresh bash that starts where the previous step of its section
// left off: in its directory, with its variables.
type walker struct {
	t       *testing.T
	src     string // the repository copy: where each section starts
	env     []string
	rootfs  string // busybox's rootfs tarball, imported in place of a pull
	fakeSys string // stands for /usr/local/bin, /etc/systemd/system, /etc/wharf
	addr    string // the section's registry address, for 127.0.0.1:5000
	cwd     string
	state   string // the exported variables after the last step
	n       int
	ran     int
}

// substitutions are every change the walk makes to a step's text, in
// order; anything else runs as written. {ADDR}, {ROOTFS}, {SYS} and
// {OVERRIDE} are the section's address, the busybox tarball, the stand-in
// system root and the copy of deploy/compose.yml composeOverride makes.
var substitutions = []struct{ old, new, why string }{
	{"sudo ", "", "the test runs as root, and the machine has no sudo"},
	{"docker compose", "docker-compose", "Debian's docker-compose 1.29 stands in for the compose plugin"},
	{"docker pull busybox", `docker import --change 'CMD ["/bin/sh"]' {ROOTFS} busybox`, "no Docker Hub: a busybox image made locally"},
	{"127.0.0.1:5000", "{ADDR}", "a free loopback port"},
	{"--addr :5000", "--addr {ADDR}", "a free port, on loopback only"},
	{"-p 5000:5000", "--network host -e WHARF_ADDR={ADDR}", "the test daemon has no bridge to publish ports on"},
	{"-f deploy/compose.yml", "-f {OVERRIDE}", "the same: deploy/compose.yml's service on the host network, on {ADDR}"},
	{"/usr/local/bin/", "{SYS}/usr/local/bin/", "the host's system directories are not the test's to change"},
	{"/etc/systemd/system/", "{SYS}/etc/systemd/system/", "the same"},
	{"/etc/wharf", "{SYS}/etc/wharf", "the same"},
}

// namespaced steps run in a private mount namespace where the stand-in
// /usr/local/bin is mounted on the real one: the unit's ExecStart names
// /usr/local/bin/wharf, which systemd-analyze verify checks is executable.
var namespaced = map[string]bool{"systemd-analyze verify /etc/systemd/system/wharf.service": true}

func (w *walker) substitute(text string) string {
	for _, s := range substitutions {
		text = strings.ReplaceAll(text, s.old, s.new)
	}
	if strings.Contains(text, "{OVERRIDE}") {
		text = strings.ReplaceAll(text, "{OVERRIDE}", w.composeOverride())
	}
	return strings.NewReplacer("{ADDR}", w.addr, "{ROOTFS}", w.rootfs, "{SYS}", w.fakeSys).Replace(text)
}

// composeOverride writes deploy/compose.walk.yml: deploy/compose.yml
// with its service moved to the host network on the section's address.
// compose cannot remove a published port in an override file, hence a
// copy; it sits next to the original, so env_file and the project name
// resolve as they do for the original.
func (w *walker) composeOverride() string {
	t := w.t
	p := filepath.Join(w.src, "deploy", "compose.walk.yml")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	src, err := os.ReadFile(filepath.Join(w.src, "deploy", "compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	svc := doc["services"].(map[string]any)["wharf"].(map[string]any)
	delete(svc, "ports")
	svc["network_mode"] = "host"
	svc["environment"].(map[string]any)["WHARF_ADDR"] = w.addr
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			cmd := exec.Command("docker-compose", "-f", p, "logs", "--tail", "40")
			cmd.Dir, cmd.Env = w.src, w.env
			out, _ := cmd.CombinedOutput()
			t.Logf("compose logs:\n%s", out)
		}
		cmd := exec.Command("docker-compose", "-f", p, "down", "-v", "--timeout", "10")
		cmd.Dir, cmd.Env = w.src, w.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("docker-compose down: %v\n%s", err, out)
		}
	})
	return p
}

// startSection begins a second-level section: from the repository's root,
// with no variables from earlier sections, on a fresh address.
func (w *walker) startSection() {
	w.cwd, w.addr = w.src, harness.FreeLoopbackAddr(w.t)
	w.state = filepath.Join(w.t.TempDir(), "state.sh")
	removeDockerCertsDir(w.t, w.addr)
}

// run runs one step and fails the test, with the step and its output, if
// it fails.
func (w *walker) run(s docStep) {
	t := w.t
	t.Helper()
	text := w.substitute(s.text)
	w.n++
	dir := t.TempDir()
	cwdFile := filepath.Join(dir, "cwd")
	if namespaced[withoutComment(s.text)] {
		text = fmt.Sprintf("unshare -m sh -c %s", shQuote("mount --bind "+w.fakeSys+"/usr/local/bin /usr/local/bin && "+text))
	}
	// set -a exports the step's assignments (TOKEN=$(…)) to the state file.
	script := fmt.Sprintf("set -eo pipefail\nset -a\n[ -f %[1]s ] && . %[1]s\ncd %[2]s\n%[3]s\npwd > %[4]s\nexport -p > %[1]s\n",
		shQuote(w.state), shQuote(w.cwd), text, shQuote(cwdFile))
	scriptFile := filepath.Join(dir, "step.sh")
	if err := os.WriteFile(scriptFile, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "output")

	switch {
	case strings.Contains(s.text, " serve ") && !strings.Contains(s.text, "docker"):
		// A server in the foreground: the README runs it in its own
		// terminal. Here it runs in the background until the test ends.
		w.startServer(s, text, scriptFile, logPath)
		w.ran++
		return
	case strings.Contains(s.text, "# asks for the password"):
		// On a terminal (script(1) gives it one), typed as a user would.
		w.exec(s, text, logPath, strings.NewReader(docsAdminPassword+"\n"), "script", "-qec", "bash "+scriptFile, "/dev/null")
	default:
		w.exec(s, text, logPath, nil, "bash", scriptFile)
	}
	w.ran++
	if b, err := os.ReadFile(cwdFile); err == nil {
		w.cwd = strings.TrimSpace(string(b))
	}
	if strings.Contains(s.text, "docker run -d") || strings.Contains(s.text, " up -d") {
		// Detached: a user waits for the server before the next command.
		w.waitListening(s, nil)
	}
}

func (w *walker) exec(s docStep, text, logPath string, stdin *strings.Reader, name string, args ...string) {
	t := w.t
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = w.env
	if stdin != nil {
		cmd.Stdin = stdin
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(logPath, out, 0o600)
	if err != nil {
		t.Fatalf("documented step failed: %v\n  %s\n  as run: %s\noutput:\n%s", err, s, text, out)
	}
	t.Logf("step %d ok in %v: %s", w.n, time.Since(start).Round(time.Millisecond), s)
}

// startServer starts a long-running step in its own process group, logging
// to a file, and stops it (the group: bash and the server) when the test ends.
func (w *walker) startServer(s docStep, text, scriptFile, logPath string) {
	t := w.t
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", scriptFile)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("log of %s:\n%s", s, b)
		}
	})
	w.waitListening(s, exited)
	t.Logf("step %d serving on %s: %s (as run: %s)", w.n, w.addr, s, text)
}

// waitListening waits until the section's address accepts connections,
// failing early if the step's process exits.
func (w *walker) waitListening(s docStep, exited <-chan struct{}) {
	t := w.t
	t.Helper()
	deadline := time.Now().Add(healthyAfter)
	for {
		c, err := net.DialTimeout("tcp", w.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("documented server stopped before listening on %s:\n  %s", w.addr, s)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s %v after the step:\n  %s\nlast error: %v", w.addr, healthyAfter, s, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeDockerCertsDir removes, when the test ends, what the documented
// `mkdir -p /etc/docker/certs.d/ADDR` makes: the address's directory, and
// certs.d and /etc/docker if the test made them.
func removeDockerCertsDir(t *testing.T, addr string) {
	var made []string
	for _, d := range []string{"/etc/docker", "/etc/docker/certs.d"} {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			made = append(made, d)
		}
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(filepath.Join("/etc/docker/certs.d", addr)); err != nil {
			t.Errorf("remove the walk's CA: %v", err)
		}
		for i := len(made) - 1; i >= 0; i-- {
			_ = os.Remove(made[i]) // only if empty
		}
	})
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// testDocsWalk runs the shell steps of README.md's "Using it" section and
// docs/deploy.md, command by command, against real parts: the image
// TestImage built with `make image` in src, its docker daemon, Debian's
// docker-compose, bin/wharf from `make build`. Every step either runs (with
// the substitutions above), ran before the walk (sharedSteps), or is listed
// with its reason (listedSteps); a step that fails fails the test with its
// text and output.
func testDocsWalk(t *testing.T, d *harness.Dockerd, src, toolDir, rootfs string) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatal("docker-compose not installed: the compose steps cannot run (apt-get install docker-compose)")
	}
	harness.RequireTool(t, "script")
	harness.RequireTool(t, "systemd-analyze")
	harness.RequireTool(t, "unshare")
	// `wharf` in docs/deploy.md is the binary make image built.
	if err := os.Symlink(filepath.Join(src, "build", "wharf"), filepath.Join(toolDir, "wharf")); err != nil {
		t.Fatal(err)
	}
	fakeSys := t.TempDir()
	for _, dir := range []string{"usr/local/bin", "etc/systemd/system", "etc"} {
		if err := os.MkdirAll(filepath.Join(fakeSys, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{
		"PATH=" + toolDir + ":" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"DOCKER_HOST=" + d.Host(),
		"DOCKER_CONFIG=" + t.TempDir(),
		"PW=" + walkPassword,
		"TERM=dumb",
	}
	// Go's caches keep make build fast; nothing else of this environment
	// (no WHARF_*) reaches the steps.
	goEnv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOTOOLCHAIN").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	for i, v := range strings.Split(strings.TrimSpace(string(goEnv)), "\n") {
		env = append(env, []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOTOOLCHAIN"}[i]+"="+v)
	}
	w := &walker{t: t, src: src, env: env, rootfs: rootfs, fakeSys: fakeSys}
	t.Cleanup(func() {
		for _, c := range []string{"wharf"} {
			if t.Failed() {
				out, _ := d.TryRun(nil, "logs", "--tail", "40", c)
				t.Logf("container %s log:\n%s", c, out)
			}
			_, _ = d.TryRun(nil, "rm", "-f", "-v", c)
		}
		_, _ = d.TryRun(nil, "volume", "rm", "-f", "wharf-data")
	})

	for _, s := range substitutions {
		t.Logf("substitution %q → %q: %s", s.old, s.new, s.why)
	}
	steps := walkSteps(t, src)
	var listed, shared int
	section := ""
	for _, s := range steps {
		if key := s.file + "#" + s.section; key != section {
			section = key
			w.startSection()
		}
		if reason, ok := listedSteps[withoutComment(s.text)]; ok {
			listed++
			t.Logf("not run: %s\n  because %s", s, reason)
			continue
		}
		if sharedSteps[withoutComment(s.text)] {
			shared++
			t.Logf("ran once before the walk: %s", s)
			continue
		}
		w.run(s)
	}
	t.Logf("documented steps: %d run, %d ran once before the walk, %d listed as not runnable here (of %d)",
		w.ran, shared, listed, len(steps))
	if w.ran+shared+listed != len(steps) {
		t.Errorf("%d steps counted, %d in the documents", w.ran+shared+listed, len(steps))
	}
}

// documentedImageSize is the size docs/deploy.md gives the image: "about N MB".
var documentedImageSize = regexp.MustCompile(`about (\d+) MB`)

// checkDocumentedImageSize fails if the image's size (bytes, as docker
// image inspect reports it) is more than 10% off what docs/deploy.md says.
func checkDocumentedImageSize(t *testing.T, root string, size int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := documentedImageSize.FindSubmatch(b)
	if m == nil {
		t.Fatal(`docs/deploy.md does not give the image's size ("about N MB")`)
	}
	mb, _ := strconv.Atoi(string(m[1]))
	got := float64(size) / 1e6
	t.Logf("image size %.1f MB; docs/deploy.md says about %d MB", got, mb)
	if got < float64(mb)*0.9 || got > float64(mb)*1.1 {
		t.Errorf("the image is %.1f MB, docs/deploy.md says about %d MB: update the document", got, mb)
	}
}
