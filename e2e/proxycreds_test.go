package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"wharf/e2e/harness"
	"wharf/internal/datadir"
)

// TestProxyCredentialsFromDatabase: the upstream (a Wharf with token auth)
// lets only its database user bot pull, and the mirror's configuration
// gives no credential: pulls through the mirror are refused until `wharf
// mirror credentials set` stores bot's password, then work without a
// restart; the upstream changes bot's password, pulls of what is not
// cached fail, and after the admin API stores the new password they work
// again, still without a restart. No password reaches a log, an answer or
// the audit log.
func TestProxyCredentialsFromDatabase(t *testing.T) {
	harness.SkipIfShort(t)
	const (
		botPW1 = "bot-first-password-1"
		botPW2 = "bot-second-password-2"
	)
	up := startWharf(t, "--auth", "token", "--config", writeConfig(t, t.TempDir(), `auth: token
acl:
  - match: {account: admin}
    actions: ["*"]
  - match: {account: bot}
    actions: [pull]
`))
	upCLI := wharfCLI{t: t, bin: harness.WharfBinary(t), data: up.DataDir()}
	upCLI.run(botPW1+"\n", "user", "add", "bot", "--password-stdin")
	b, err := os.ReadFile(datadir.New(up.DataDir()).AdminPassword())
	if err != nil {
		t.Fatal(err)
	}
	upAdmin := remote.WithAuth(&authn.Basic{Username: "admin", Password: strings.TrimSpace(string(b))})
	for _, repo := range []string{"a", "b", "c"} {
		pushRandomWith(t, up.Addr()+"/team/"+repo+":1", 64<<10, 1, upAdmin)
	}
	// The mirror's configuration gives the upstream no credential.
	mirrorCfg := mirrorConfig(t, "      url: "+up.URL()+"\n")
	mirror := startWharf(t, "--config", mirrorCfg, "--auth", "token")
	mirrorCLI := wharfCLI{t: t, bin: harness.WharfBinary(t), data: mirror.DataDir()}
	pull := func(repo string) error {
		ref, err := name.ParseReference(mirror.Addr()+"/up/team/"+repo+":1", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		_, err = remote.Image(ref, proxyPuller)
		return err
	}

	if err := pull("a"); err == nil {
		t.Fatal("a pull through the mirror without credentials worked; the upstream lets only bot pull")
	}
	out := mirrorCLI.run(botPW1+"\n", "mirror", "credentials", "set", "up", "--username", "bot", "--password-stdin", "--config", mirrorCfg)
	if !strings.Contains(out, "stored the credential of upstream up") {
		t.Errorf("credentials set: %s", out)
	}
	if err := pull("a"); err != nil {
		t.Fatalf("pull with the credential stored in the database, no restart: %v", err)
	}
	if out := mirrorCLI.run("", "mirror", "status", "--config", mirrorCfg); !strings.Contains(out, "database") || !strings.Contains(out, "ok") {
		t.Errorf("mirror status:\n%s", out)
	}

	// The upstream's password changes: what is not cached cannot be
	// fetched with the old one.
	upCLI.run(botPW2+"\n", "user", "passwd", "bot", "--password-stdin")
	if err := pull("b"); err == nil {
		t.Fatal("the old password still fetched after the upstream changed it")
	}
	// The admin API stores the new one; the next pull takes it.
	admin := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+adminPassword))
	res := do(t, http.MethodPut, mirror.URL()+"/api/v1/upstream-credentials/up", strings.NewReader(fmt.Sprintf(`{"username":"bot","password":%q}`, botPW2)),
		"Authorization", admin, "Content-Type", "application/json")
	if res.Status != http.StatusOK {
		t.Fatalf("PUT upstream credential: %v", res)
	}
	if err := pull("b"); err != nil {
		t.Fatalf("pull after the admin API stored the new password, no restart: %v", err)
	}
	if err := pull("c"); err != nil {
		t.Fatalf("pull of another repository with the new password: %v", err)
	}
	if err := pull("a"); err != nil {
		t.Fatalf("pull of the cached image: %v", err)
	}
	list := do(t, http.MethodGet, mirror.URL()+"/api/v1/upstream-credentials", nil, "Authorization", admin)
	var states struct {
		Upstreams []struct{ Upstream, Source, Username string } `json:"upstreams"`
	}
	if err := json.Unmarshal(list.Body, &states); err != nil || list.Status != http.StatusOK || len(states.Upstreams) != 1 ||
		states.Upstreams[0].Source != "database" || states.Upstreams[0].Username != "bot" {
		t.Errorf("GET upstream credentials: %v", list)
	}
	// The audit log's writer flushes within a second: wait for both
	// records (the CLI's and the admin API's), a bounded number of times.
	var audit response
	for range 50 {
		audit = do(t, http.MethodGet, mirror.URL()+"/api/v1/audit?action=upstream.credentials.set", nil, "Authorization", admin)
		if strings.Contains(string(audit.Body), `"adminapi"`) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(string(audit.Body), `"cli"`) || !strings.Contains(string(audit.Body), `"adminapi"`) {
		t.Errorf("audit of the two changes (cli and admin API): %v", audit)
	}
	for what, text := range map[string]string{"the mirror's log": mirror.Log(), "the answers": string(res.Body) + string(list.Body) + string(audit.Body)} {
		if strings.Contains(text, botPW1) || strings.Contains(text, botPW2) {
			t.Errorf("%s holds an upstream password", what)
		}
	}
}
