package e2e

// Replication rules in wharf serve: a push to Wharf copied to the real
// distribution registry (token auth) with every platform and signature, a
// second Wharf's scheduled pull rule copying it back, and a wharf serve
// killed with SIGKILL mid-replication that, restarted, finishes the copy
// without sending a blob twice.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/e2e/harness"
)

// replicationWharf starts a token-auth Wharf (admin and test as in
// authConfig) whose replication rules are rules, a YAML list; PWFILE in
// them is replaced with a file holding admin's password.
func replicationWharf(t *testing.T, rules string) *harness.Wharf {
	w, _ := replicationWharfConfig(t, rules)
	return w
}

// replicationWharfConfig is replicationWharf that also returns the
// configuration's path.
func replicationWharfConfig(t *testing.T, rules string) (*harness.Wharf, string) {
	t.Helper()
	dir := t.TempDir()
	pw := writeTestFile(t, dir, "remote.pw", adminPassword+"\n", 0o600)
	body := fmt.Sprintf(authConfig, bcryptHash(t, adminPassword), bcryptHash(t, testPassword)) +
		"replication:\n  rules:\n" + strings.ReplaceAll(rules, "PWFILE", pw)
	cfg := writeConfig(t, dir, body)
	return harness.StartWharf(t, "--config", cfg, "--auth", "token"), cfg
}

// waitFor polls ok until it answers true, for at most limit.
func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// headOK says whether ref answers a HEAD, as admin.
func headOK(ctx context.Context, ref string) bool {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return false
	}
	_, err = remote.Head(r, remoteOpts(ctx, proxyAdmin)...)
	return err == nil
}

// TestReplicationPushAndScheduledPull: an on-push rule copies a signed
// two-platform index from Wharf to distribution; a second Wharf's pull
// rule, on its schedule (the first run is at start), copies it back.
func TestReplicationPushAndScheduledPull(t *testing.T) {
	harness.SkipIfShort(t)
	ctx := t.Context()
	dist, auth := distributionBehindWharfAuth(t, "localhost")
	dst := startBlobPuts(t, "http://"+dist.Addr)
	src, srcConfig := replicationWharfConfig(t, fmt.Sprintf(`    - name: to-dist
      direction: push
      url: %s
      repositories: ["team/**"]
      prefix: mirror
      username: admin
      password_file: PWFILE
`, dst.srv.URL))
	idxDigest, sigDigest, cosignDigest, tagged := signedIndex(t, ctx, src.Addr()+"/team/app:1")
	mirrored := dst.host() + "/mirror/team/app"
	waitFor(t, time.Minute, "the push replicated to distribution", func() bool {
		return headOK(ctx, mirrored+":1") && headOK(ctx, mirrored+":"+tagged) && headOK(ctx, mirrored+":sha256-"+idxDigest.Hex)
	})
	checkCopied(t, ctx, mirrored+":1", idxDigest, sigDigest, cosignDigest, tagged)

	back, backConfig := replicationWharfConfig(t, fmt.Sprintf(`    - name: from-dist
      direction: pull
      url: %s
      repositories: ["mirror/team/*"]
      tags: ["1"]
      prefix: back
      username: admin
      password_file: PWFILE
      schedule: 1h
`, dst.srv.URL))
	waitFor(t, time.Minute, "the scheduled pull copied the image back", func() bool {
		return headOK(ctx, back.Addr()+"/back/mirror/team/app:1") && headOK(ctx, back.Addr()+"/back/mirror/team/app:"+tagged)
	})
	checkCopied(t, ctx, back.Addr()+"/back/mirror/team/app:1", idxDigest, sigDigest, cosignDigest, tagged)

	// The admin API reports the push rule's copies and an empty queue, and
	// runs the pull rule again: everything is current.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+adminPassword))
	res := do(t, "GET", src.URL()+"/api/v1/replication", nil, "Authorization", basic)
	var status struct {
		Rules []struct {
			Name            string
			Pending, Copied int64
			LastError       string `json:"last_error"`
		}
	}
	if err := json.Unmarshal(res.Body, &status); err != nil || res.Status != 200 || len(status.Rules) != 1 {
		t.Fatalf("GET /api/v1/replication: %v %v", res, err)
	}
	if r := status.Rules[0]; r.Name != "to-dist" || r.Pending != 0 || r.Copied == 0 || r.LastError != "" {
		t.Errorf("status of to-dist = %+v; want copies, nothing pending, no error", r)
	}
	// wharf replication status reads the same from the database.
	code, out := runWharf(t, "replication", "status", "--config", srcConfig, "--data", src.DataDir())
	if code != 0 || !strings.Contains(out, "to-dist") || !strings.Contains(out, dst.host()) {
		t.Errorf("wharf replication status: exit %d\n%s", code, out)
	}
	res = do(t, "POST", back.URL()+"/api/v1/replication/from-dist/run", nil, "Authorization", basic)
	var run struct{ Copied, Current, Failed int }
	if err := json.Unmarshal(res.Body, &run); err != nil || res.Status != 200 || run.Copied != 0 || run.Current != 1 || run.Failed != 0 {
		t.Errorf("POST /api/v1/replication/from-dist/run = %v (%+v, %v); want 1 current, nothing copied", res, run, err)
	}
	// wharf replication run does the same from the command line.
	code, out = runWharf(t, "replication", "run", "from-dist", "--json", "--config", backConfig, "--data", back.DataDir())
	if err := json.Unmarshal([]byte(out), &run); code != 0 || err != nil || run.Copied != 0 || run.Current != 1 || run.Failed != 0 {
		t.Errorf("wharf replication run from-dist: exit %d (%+v, %v)\n%s", code, run, err, out)
	}
	if res := do(t, "POST", back.URL()+"/api/v1/replication/nope/run", nil, "Authorization", basic); res.Status != 404 {
		t.Errorf("running an unknown rule: %v; want 404", res)
	}

	for what, text := range map[string]string{"pushing wharf": src.Log(), "pulling wharf": back.Log(), "wharf auth": auth.Log(), "distribution": readFile(t, dist.LogPath)} {
		if strings.Contains(text, adminPassword) {
			t.Errorf("the %s log holds the remote's password", what)
		}
	}
}

// TestReplicationResumesAfterKill9 kills wharf serve with SIGKILL once
// part of a pushed image reached distribution; restarted, it finishes the
// copy from its queue without uploading a blob twice.
func TestReplicationResumesAfterKill9(t *testing.T) {
	harness.SkipIfShort(t)
	ctx := t.Context()
	dist, _ := distributionBehindWharfAuth(t, "localhost")
	dst := startBlobPuts(t, "http://"+dist.Addr)
	dst.putDelay.Store(int64(400 * time.Millisecond))
	src := replicationWharf(t, fmt.Sprintf(`    - name: to-dist
      direction: push
      url: %s
      repositories: ["team/*"]
      username: admin
      password_file: PWFILE
`, dst.srv.URL))
	img := pushRandomAsAdmin(t, src.Addr()+"/team/big:1", 512<<10, 6)
	waitFor(t, time.Minute, "a first blob replicated", func() bool { return len(dst.finished()) >= 1 })
	src.Kill9()
	first := dst.finished()
	if len(first) >= 7 {
		t.Fatalf("all %d blobs were sent before the kill; the test proves nothing", len(first))
	}
	dst.putDelay.Store(0)
	src.Restart()
	waitFor(t, time.Minute, "the restarted wharf finished the copy", func() bool { return headOK(ctx, dst.host()+"/team/big:1") })
	second := dst.finished()[len(first):]
	for _, d := range second {
		for _, f := range first {
			if d == f {
				t.Errorf("blob %s was uploaded again after the restart", d)
			}
		}
	}
	if len(first)+len(second) != 7 {
		t.Errorf("uploads: %d before the kill, %d after; want 7 in all (6 layers and a config), each once", len(first), len(second))
	}
	t.Logf("blobs uploaded before SIGKILL: %d, after the restart: %d", len(first), len(second))
	got := pullValidate(t, dst.host()+"/team/big:1", remoteOpts(ctx, proxyAdmin)...)
	if mustDigest(t, got) != mustDigest(t, img) {
		t.Errorf("distribution holds %s; want %s", mustDigest(t, got), mustDigest(t, img))
	}
}
