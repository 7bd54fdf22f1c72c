package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/e2e/harness"
	"wharf/internal/audit"
)

// auditConfig: carol, a configured user, owns carol/*.
const auditConfig = `auth: token
users:
  carol:
    password: %q
acl:
  - match: {account: carol, name: "carol/*"}
    actions: ["*"]
`

// auditCarolPW is carol's password in auditConfig.
const auditCarolPW = "carol's long password"

// startAuditedPush starts wharf serve with auditConfig and pushes a random
// image to carol/app:1 as carol.
func startAuditedPush(t *testing.T) (w *harness.Wharf, cli wharfCLI, ctx context.Context, carol remote.Option, img v1.Image, app name.Reference) {
	t.Helper()
	cfg := writeConfig(t, t.TempDir(), fmt.Sprintf(auditConfig, bcryptHash(t, auditCarolPW)))
	w = harness.StartWharf(t, "--auth", "token", "--config", cfg)
	t.Cleanup(httpClient.CloseIdleConnections)
	cli = wharfCLI{t: t, bin: harness.WharfBinary(t), data: w.DataDir()}
	ctx = testContext(t, 2*time.Minute)
	carol = remote.WithAuth(&authn.Basic{Username: "carol", Password: auditCarolPW})
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	app = ref(t, w, "carol/app:1")
	if err := remote.Write(app, img, remoteOpts(ctx, carol)...); err != nil {
		t.Fatalf("push: %v", err)
	}
	return w, cli, ctx, carol, img, app
}

// TestAuditLog pushes, pulls and deletes with a real client, fails a
// login and adds a user with the CLI while wharf serve runs; `wharf audit
// ls --json` then shows each, with its actor and address, and no password.
func TestAuditLog(t *testing.T) {
	harness.SkipIfShort(t)
	const davePW = "dave's long passw0rd"
	w, cli, ctx, carol, img, app := startAuditedPush(t)
	if _, err := remote.Image(app, remoteOpts(ctx, carol)...); err != nil {
		t.Fatalf("pull: %v", err)
	}
	if _, err := remote.Image(app, remoteOpts(ctx, remote.WithAuth(&authn.Basic{Username: "carol", Password: "not carol's password"}))...); err == nil {
		t.Fatal("a wrong password pulled")
	}
	dgst := mustDigest(t, img)
	if err := remote.Delete(ref(t, w, "carol/app@"+dgst.String()), remoteOpts(ctx, carol)...); err != nil {
		t.Fatalf("delete: %v", err)
	}
	cli.run(davePW+"\n", "user", "add", "dave", "--password-stdin")

	// The server writes its records within a second or so; the CLI's
	// change is written before the command returns.
	var recs []audit.View
	want := []string{"push", "pull", "login.failed", "delete", "user.create"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs = auditRecords(t, cli, "audit", "ls", "--json", "--limit", "1000")
		if hasActions(recs, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	find := func(action string, match func(audit.View) bool) *audit.View {
		for i := range recs {
			if recs[i].Action == action && match(recs[i]) {
				return &recs[i]
			}
		}
		t.Errorf("no %s record among:\n%s", action, dump(recs))
		return nil
	}
	manifest := func(r audit.View) bool { return strings.HasSuffix(r.Target, dgst.String()) }
	for _, action := range []string{"push", "pull", "delete"} {
		if r := find(action, manifest); r != nil && (r.Actor != "carol" || r.Addr != "127.0.0.1" || r.Repository != "carol/app" || r.RequestID == "") {
			t.Errorf("%s of the manifest: %+v; want carol from 127.0.0.1 on carol/app, with a request id", action, *r)
		}
	}
	if r := find("push", func(r audit.View) bool { return r.Target == "1@"+dgst.String() }); r != nil && r.Source != "registry" {
		t.Errorf("push by tag: %+v", *r)
	}
	if r := find("login", func(r audit.View) bool { return r.Actor == "carol" }); r != nil && (r.Source != "static" || r.Addr != "127.0.0.1") {
		t.Errorf("carol's login: %+v; want source static from 127.0.0.1", *r)
	}
	if r := find("login.failed", func(r audit.View) bool { return r.Actor == "carol" }); r != nil && (r.Outcome != "failed" || r.Addr != "127.0.0.1") {
		t.Errorf("carol's failed login: %+v; want outcome failed from 127.0.0.1", *r)
	}
	if r := find("user.create", func(r audit.View) bool { return r.Target == "user dave" }); r != nil && (r.Source != "cli" || r.Actor == "" || r.Outcome != "ok") {
		t.Errorf("user add dave: %+v; want the operating-system user through the cli", *r)
	}
	// The server made its built-in admin on first start.
	if r := find("user.create", func(r audit.View) bool { return r.Target == "user admin" }); r != nil && (r.Actor != "wharf" || r.Source != "serve") {
		t.Errorf("the built-in admin's creation: %+v; want actor wharf from serve", *r)
	}
	// Newest first.
	for i := 1; i < len(recs); i++ {
		if recs[i].Time.After(recs[i-1].Time) {
			t.Errorf("record %d (%s) is newer than record %d (%s)", i, recs[i].Time, i-1, recs[i-1].Time)
		}
	}
	// The filters, and the table.
	pushes := auditRecords(t, cli, "audit", "ls", "--json", "--user", "carol", "--action", "push", "--repo", "carol/app", "--since", "1h")
	if len(pushes) < 2 || slices.ContainsFunc(pushes, func(r audit.View) bool { return r.Action != "push" || r.Actor != "carol" }) {
		t.Errorf("carol's pushes to carol/app:\n%s", dump(pushes))
	}
	if out := cli.run("", "audit", "ls", "--action", "delete"); !strings.Contains(out, "carol/app") || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("audit ls --action delete:\n%s", out)
	}
	// No password in any record.
	all := dump(recs)
	for _, secret := range []string{auditCarolPW, davePW, "not carol's password"} {
		if strings.Contains(all, secret) {
			t.Errorf("a password is in the audit log:\n%s", all)
		}
	}
	t.Logf("%d audit records after one push, pull, delete, failed login and user add", len(recs))
}

func auditRecords(t *testing.T, cli wharfCLI, args ...string) []audit.View {
	t.Helper()
	var recs []audit.View
	for line := range strings.Lines(cli.run("", args...)) {
		var r audit.View
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit ls --json printed a line that is not one JSON object: %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func hasActions(recs []audit.View, actions []string) bool {
	for _, a := range actions {
		if !slices.ContainsFunc(recs, func(r audit.View) bool { return r.Action == a }) {
			return false
		}
	}
	return true
}

func dump(recs []audit.View) string {
	var b strings.Builder
	for _, r := range recs {
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestAuditFoldsPulls pulls one manifest in a loop from one client: the
// first pull is one record at once, the repeats one record with their
// count, written when the window ends or, as here, when the server stops.
func TestAuditFoldsPulls(t *testing.T) {
	harness.SkipIfShort(t)
	w, cli, ctx, carol, img, app := startAuditedPush(t)
	const pulls = 6
	for range pulls {
		if _, err := remote.Get(app, remoteOpts(ctx, carol)...); err != nil { // one manifest GET
			t.Fatalf("pull: %v", err)
		}
	}
	w.Stop()

	recs := auditRecords(t, cli, "audit", "ls", "--json", "--action", "pull")
	var total int64
	for _, r := range recs {
		total += r.Count
		if r.Actor != "carol" || r.Addr != "127.0.0.1" || r.Target != "1@"+mustDigest(t, img).String() {
			t.Errorf("pull record %+v; want carol from 127.0.0.1, of 1@<digest>", r)
		}
	}
	// Newest first: the folded repeats, then the first pull.
	if len(recs) != 2 || total != pulls || recs[1].Count != 1 || recs[0].Count != pulls-1 ||
		recs[0].Last.Before(recs[0].Time) || recs[0].Time.Before(recs[1].Time) {
		t.Fatalf("%d pulls are %d records counting %d; want the first alone and the %d repeats folded, first to last:\n%s",
			pulls, len(recs), total, pulls-1, dump(recs))
	}
	if out := cli.run("", "audit", "ls", "--action", "pull"); !strings.Contains(out, fmt.Sprintf("pull ×%d", pulls-1)) {
		t.Errorf("audit ls --action pull does not show the folded pulls as pull ×%d:\n%s", pulls-1, out)
	}
	t.Logf("%d manifest pulls from one client: %d audit records", pulls, len(recs))
}
